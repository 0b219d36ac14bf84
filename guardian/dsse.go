package guardian

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// maxSignatures bounds the signatures an envelope may carry: each is tried
// against every trusted key.
const maxSignatures = 8

// payloadType is the DSSE payload type of an in-toto statement.
const payloadType = "application/vnd.in-toto+json"

// envelope is a DSSE envelope (https://github.com/secure-systems-lab/dsse).
type envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []signature `json:"signatures"`
}

// signature is one DSSE signature. The key id is always written, and empty:
// verifiers pick keys by trying the ones they trust.
type signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// pae is the DSSE pre-authentication encoding that signatures cover:
// "DSSEv1" SP len(type) SP type SP len(body) SP body.
func pae(typ string, body []byte) []byte {
	b := make([]byte, 0, 32+len(typ)+len(body))
	b = append(b, "DSSEv1 "...)
	b = strconv.AppendInt(b, int64(len(typ)), 10)
	b = append(b, ' ')
	b = append(b, typ...)
	b = append(b, ' ')
	b = strconv.AppendInt(b, int64(len(body)), 10)
	b = append(b, ' ')
	return append(b, body...)
}

// sealEnvelope signs payload as an in-toto statement with key.
func sealEnvelope(payload []byte, key ed25519.PrivateKey) envelope {
	sig := ed25519.Sign(key, pae(payloadType, payload))
	return envelope{
		PayloadType: payloadType,
		Payload:     base64.StdEncoding.EncodeToString(payload),
		Signatures:  []signature{{KeyID: "", Sig: base64.StdEncoding.EncodeToString(sig)}},
	}
}

// open decodes the payload and returns it with the distinct keys among keys
// whose signatures on it verify. It fails when the envelope is malformed or
// no trusted key signed it.
func (e *envelope) open(keys []ed25519.PublicKey) ([]byte, []ed25519.PublicKey, error) {
	if e.PayloadType != payloadType {
		return nil, nil, fmt.Errorf("payloadType is %q, want %q", e.PayloadType, payloadType)
	}
	payload, err := decodeBase64(e.Payload)
	if err != nil {
		return nil, nil, fmt.Errorf("payload is not base64: %w", err)
	}
	if len(e.Signatures) == 0 {
		return nil, nil, errors.New("envelope has no signatures")
	}
	if len(e.Signatures) > maxSignatures {
		return nil, nil, fmt.Errorf("envelope has %d signatures, more than the %d any approval or entry carries", len(e.Signatures), maxSignatures)
	}
	msg := pae(e.PayloadType, payload)
	var signers []ed25519.PublicKey
	for _, s := range e.Signatures {
		sig, err := decodeBase64(s.Sig)
		if err != nil || len(sig) != ed25519.SignatureSize {
			continue
		}
		for _, k := range keys {
			if containsKey(signers, k) || !ed25519.Verify(k, msg, sig) {
				continue
			}
			signers = append(signers, k)
			break
		}
	}
	if len(signers) == 0 {
		return nil, nil, errors.New("no signature verifies with a trusted key")
	}
	return payload, signers, nil
}

// decodeBase64 accepts standard and URL-safe base64, padded or not, as the
// DSSE specification asks of verifiers.
func decodeBase64(s string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			return b, nil
		}
	}
	return nil, errors.New("not standard or URL-safe base64")
}

func containsKey(keys []ed25519.PublicKey, k ed25519.PublicKey) bool {
	for _, x := range keys {
		if x.Equal(k) {
			return true
		}
	}
	return false
}

// marshalEnvelope encodes e as compact JSON.
func marshalEnvelope(e envelope) []byte {
	b, err := json.Marshal(e)
	if err != nil {
		panic("guardian: encoding an envelope: " + err.Error()) // only strings: cannot fail
	}
	return b
}
