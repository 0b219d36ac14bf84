package guardian

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
)

// PolicyDigest returns the digest of a guardian.json, as the audit log
// records it and $RAFAEL_GUARDIAN_POLICY pins it: the SHA-256 of its
// canonical form. Empty data is the default policy.
func PolicyDigest(data []byte) (string, error) {
	_, _, digest, err := parsePolicy(configFile, data)
	return digest, err
}

// policyChanges lists how a policy differs from the one in force, field by
// field, for the policy-proposed entry and for approvers to read: each
// approver added or removed (with the key's fingerprint), then every other
// top-level field whose value changes.
func policyChanges(oldRaw, newRaw []byte) []changeRecord {
	var oldF, newF map[string]json.RawMessage
	_ = json.Unmarshal(oldRaw, &oldF)
	_ = json.Unmarshal(newRaw, &newF)
	out := approverChanges(oldF["approvers"], newF["approvers"])
	keys := make([]string, 0, len(oldF)+len(newF))
	for k := range oldF {
		keys = append(keys, k)
	}
	for k := range newF {
		if _, ok := oldF[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "approvers" || bytes.Equal(oldF[k], newF[k]) {
			continue
		}
		out = append(out, changeRecord{Kind: "changed", Field: k, From: clip(string(oldF[k])), To: clip(string(newF[k]))})
	}
	return out
}

// approverChanges compares two approver lists by name and key.
func approverChanges(oldRaw, newRaw json.RawMessage) []changeRecord {
	type approver struct {
		Name      string `json:"name"`
		Role      string `json:"role"`
		PublicKey string `json:"publicKey"`
	}
	var olds, news []approver
	_ = json.Unmarshal(oldRaw, &olds)
	_ = json.Unmarshal(newRaw, &news)
	id := func(a approver) string {
		if k, err := ParsePublicKey([]byte(a.PublicKey)); err == nil {
			if a.Role == "" {
				return fmt.Sprintf("%s (key %s)", a.Name, fingerprint(k))
			}
			return fmt.Sprintf("%s (%s, key %s)", a.Name, a.Role, fingerprint(k))
		}
		return a.Name
	}
	var out []changeRecord
	has := func(list []approver, a approver) bool {
		return slices.ContainsFunc(list, func(b approver) bool { return b == a })
	}
	for _, a := range olds {
		if !has(news, a) {
			out = append(out, changeRecord{Kind: "removed", Field: "approver " + id(a)})
		}
	}
	for _, a := range news {
		if !has(olds, a) {
			out = append(out, changeRecord{Kind: "added", Field: "approver " + id(a)})
		}
	}
	return out
}

func clip(s string) string {
	if len(s) > 200 {
		return s[:200] + "…"
	}
	return s
}
