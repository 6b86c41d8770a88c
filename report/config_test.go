package report

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestConfigTrustedKeyDigests(t *testing.T) {
	d := strings.Repeat("ab", 48)
	for _, tc := range []struct {
		name, in string
		ok       bool
	}{
		{"hex", d, true},
		{"0x hex", "0x" + d, true},
		{"0X hex", "0X" + strings.ToUpper(d), true},
		{"spaces", " " + d + "\n", true},
		{"too short", strings.Repeat("ab", 32), false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o, err := (&Config{TrustedIDKeys: []string{tc.in}}).Options()
			if !tc.ok {
				var ce *ConfigError
				if !errors.As(err, &ce) {
					t.Fatalf("error %v, want a *ConfigError", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(o.Expect.TrustedIDKeys) != 1 || !bytes.Equal(o.Expect.TrustedIDKeys[0], bytes.Repeat([]byte{0xab}, 48)) {
				t.Errorf("digests %x", o.Expect.TrustedIDKeys)
			}
		})
	}
}
