// Package guardian will hold impact assessment, the approval policy,
// compliance rules and the signed, hash-chained audit log. It arrives with
// issue 8; this file only reserves its place.
package guardian
