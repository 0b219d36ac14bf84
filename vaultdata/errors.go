package vaultdata

import "errors"

// Sentinel errors, matched with errors.Is.
var (
	ErrInvalid  = errors.New("vaultdata: invalid pattern") // matched by every FieldError
	ErrNotFound = errors.New("vaultdata: no such pattern")
)

// FieldError is one problem of a pattern file: the file, the field (a path
// such as "threats[1].delay" or "genome.retry.baseDelay") and what is wrong.
// Loading reports every FieldError of every file at once, joined.
type FieldError struct {
	File    string
	Field   string
	Problem string
}

// Error returns "<file>: <field>: <problem>".
func (e *FieldError) Error() string { return e.File + ": " + e.Field + ": " + e.Problem }

// Is reports whether target is ErrInvalid.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }
