package main

import (
	"crypto/ed25519"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"

	"github.com/rafaelabs/rafael/guardian"
	"github.com/rafaelabs/rafael/internal/atomicfile"
)

func keygenCommand() *command {
	var out string
	return &command{
		name:    "keygen",
		args:    "-o NAME",
		summary: "make an Ed25519 key pair for the guardian: NAME (private) and NAME.pub",
		help: `Keygen makes an Ed25519 key pair: NAME, the private key (PEM PKCS#8, mode
0600 from its creation), and NAME.pub, the public key (PEM PKIX), and prints
both paths and the public key's fingerprint. It never overwrites a file.

The CI's key signs the audit log and identifies the proposer: its private
half is a CI secret ($RAFAEL_SIGNING_KEY), its public half is what
verifiers trust ($RAFAEL_AUDIT_KEYS, rafael audit verify -key). Each
approver makes their own and lists the public half in guardian.json
(rafael guardian init -approver NAME=NAME.pub). No openssl is needed.`,
		flags: func(fs *flag.FlagSet) {
			fs.StringVar(&out, "o", "", "the private key's file; the public key goes to the same name with .pub; required")
		},
		run: func(e *env, args []string) int {
			if len(args) != 0 {
				return e.usagef("keygen: unexpected argument %q: name the key file with -o", args[0])
			}
			if out == "" {
				return e.usagef("keygen: -o is required: the private key's file, e.g. -o ci.pem (the public key goes to ci.pem.pub)")
			}
			pubPath := out + ".pub"
			for _, p := range []string{out, pubPath} {
				if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
					return e.usagef("keygen: %s exists: remove it or choose another -o; keygen never overwrites a key", p)
				}
			}
			key, err := guardian.GenerateKey()
			if err != nil {
				return e.usagef("keygen: %v", err)
			}
			priv, err := guardian.MarshalPrivateKey(key)
			if err != nil {
				return e.usagef("keygen: %v", err)
			}
			pub, err := guardian.MarshalPublicKey(key.Public().(ed25519.PublicKey))
			if err != nil {
				return e.usagef("keygen: %v", err)
			}
			if err := atomicfile.WriteMode(out, priv, 0o600); err != nil {
				return e.usagef("keygen: writing %s: %v", out, err)
			}
			if err := atomicfile.WriteMode(pubPath, pub, 0o644); err != nil {
				os.Remove(out) // no private key without its public half: nothing half-written
				return e.usagef("keygen: writing %s: %v; %s was removed again", pubPath, err, out)
			}
			fmt.Fprintf(e.stdout, "private key: %s (keep it secret: a CI secret or your own machine)\npublic key:  %s\nfingerprint: %s\n",
				out, pubPath, guardian.Fingerprint(key.Public().(ed25519.PublicKey)))
			return exitOK
		},
	}
}
