package guardian

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/note"
	"golang.org/x/mod/sumdb/tlog"
)

// noteKeyName is the signer name on audit checkpoints.
const noteKeyName = "rafael-audit"

// originPrefix starts the origin line of every audit checkpoint.
const originPrefix = "rafael audit "

// checkpoint is the body of a C2SP tlog checkpoint
// (https://c2sp.org/tlog-checkpoint): origin, tree size, root hash.
type checkpoint struct {
	Origin string
	Size   int64
	Root   tlog.Hash
}

// text renders the checkpoint body. tlog.FormatTree is not used: it writes
// the Go checksum database's origin.
func (c checkpoint) text() string {
	return c.Origin + "\n" + strconv.FormatInt(c.Size, 10) + "\n" + base64.StdEncoding.EncodeToString(c.Root[:]) + "\n"
}

// parseCheckpointText reads a checkpoint body; extension lines after the
// root are allowed and ignored, as the format permits.
func parseCheckpointText(text string) (checkpoint, error) {
	lines := strings.SplitN(text, "\n", 4)
	if len(lines) < 4 {
		return checkpoint{}, errors.New("body has fewer than three lines (origin, size, root)")
	}
	var c checkpoint
	c.Origin = lines[0]
	if !strings.HasPrefix(c.Origin, originPrefix) {
		return checkpoint{}, fmt.Errorf("origin %q does not start with %q", c.Origin, originPrefix)
	}
	n, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil || n < 0 || strconv.FormatInt(n, 10) != lines[1] {
		return checkpoint{}, fmt.Errorf("tree size %q is not a non-negative decimal", lines[1])
	}
	c.Size = n
	h, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(h) != tlog.HashSize {
		return checkpoint{}, fmt.Errorf("root hash %q is not %d bytes of base64", lines[2], tlog.HashSize)
	}
	copy(c.Root[:], h)
	return c, nil
}

// noteSigner signs checkpoint notes with an Ed25519 key.
type noteSigner struct {
	key  ed25519.PrivateKey
	hash uint32
}

func newNoteSigner(key ed25519.PrivateKey) (*noteSigner, error) {
	v, err := noteVerifier(key.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	return &noteSigner{key: key, hash: v.KeyHash()}, nil
}

func (s *noteSigner) Name() string                    { return noteKeyName }
func (s *noteSigner) KeyHash() uint32                 { return s.hash }
func (s *noteSigner) Sign(msg []byte) ([]byte, error) { return ed25519.Sign(s.key, msg), nil }

func noteVerifier(k ed25519.PublicKey) (note.Verifier, error) {
	vkey, err := note.NewEd25519VerifierKey(noteKeyName, k)
	if err != nil {
		return nil, err
	}
	return note.NewVerifier(vkey)
}

// signCheckpoint renders c as a signed note.
func signCheckpoint(c checkpoint, key ed25519.PrivateKey) ([]byte, error) {
	s, err := newNoteSigner(key)
	if err != nil {
		return nil, err
	}
	return note.Sign(&note.Note{Text: c.text()}, s)
}

// openCheckpoint verifies a signed checkpoint with the trusted keys and
// parses its body.
func openCheckpoint(data []byte, keys []ed25519.PublicKey) (checkpoint, error) {
	vs := make([]note.Verifier, 0, len(keys))
	for _, k := range keys {
		v, err := noteVerifier(k)
		if err != nil {
			return checkpoint{}, err
		}
		vs = append(vs, v)
	}
	n, err := note.Open(data, note.VerifierList(vs...))
	if err != nil {
		var unverified *note.UnverifiedNoteError
		if errors.As(err, &unverified) {
			return checkpoint{}, errors.New("no signature by a trusted key (re-signed or forged?)")
		}
		return checkpoint{}, fmt.Errorf("not a signed note: %v", err)
	}
	return parseCheckpointText(n.Text)
}

// merkle holds the stored hashes of a tlog tree built over log lines.
type merkle struct{ hashes []tlog.Hash }

// ReadHashes implements tlog.HashReader.
func (m *merkle) ReadHashes(idx []int64) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(idx))
	for i, x := range idx {
		if x < 0 || x >= int64(len(m.hashes)) {
			return nil, fmt.Errorf("hash %d not stored", x)
		}
		out[i] = m.hashes[x]
	}
	return out, nil
}

// add appends record n (the line's bytes) to the tree.
func (m *merkle) add(n int64, data []byte) error {
	hs, err := tlog.StoredHashes(n, data, m)
	if err != nil {
		return err
	}
	m.hashes = append(m.hashes, hs...)
	return nil
}

// root returns the root of the first n records.
func (m *merkle) root(n int64) (tlog.Hash, error) { return tlog.TreeHash(n, m) }
