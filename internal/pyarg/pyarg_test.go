package pyarg

import (
	"bytes"
	"errors"
	"strconv"
	"testing"
)

func TestUint(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		err  error
	}{
		{"0x21", 0x21, nil}, {"33", 33, nil}, {" 1_000 ", 1000, nil}, {"0o17", 15, nil}, {"0b101", 5, nil},
		{"0X_ff", 255, nil}, {"+7", 7, nil}, {"0", 0, nil}, {"00", 0, nil}, {"18446744073709551615", 1<<64 - 1, nil},
		{"", 0, ErrEmpty}, {"  ", 0, ErrEmpty}, {"07", 0, ErrLeadingZeros}, {"-1", 0, ErrNegative},
		{"0x", 0, ErrSyntax}, {"1__0", 0, ErrSyntax}, {"_1", 0, ErrSyntax}, {"1.0", 0, ErrSyntax}, {"0x1g", 0, ErrSyntax},
		{"18446744073709551616", 0, ErrRange}, {"0x10000000000000021", 0, ErrRange},
		// Python's int(): -0 is 0; any Unicode decimal digit counts as its
		// ASCII digit (in a 0x number too), other letters do not.
		{"-0", 0, nil}, {"-0x0", 0, nil}, {"-0_0", 0, nil}, {"-0x1", 0, ErrNegative}, {"-18446744073709551616", 0, ErrNegative},
		{"\u0663\u0663", 33, nil}, {"\uff13\uff13", 33, nil}, {"0x\u0968\u0967", 0x21, nil}, {"\U0001D7D7", 9, nil}, {"\U0001D7E2", 0, nil},
		{"0\uff58\uff11", 0, ErrSyntax}, {"\u00b2", 0, ErrSyntax}, {"\u0663\u0660\u0660", 300, nil}, {"\u0660\u0663", 0, ErrLeadingZeros},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Uint(tc.in)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("Uint(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want int64
		err  error
	}{
		{"4", 4, nil}, {" -3 ", -3, nil}, {"1_0", 10, nil}, {"007", 7, nil}, {"\u0664", 4, nil}, {"\u00a0\uff14\u3000", 4, nil},
		{"0x4", 0, ErrDecimal}, {"", 0, ErrDecimal}, {"4.0", 0, ErrDecimal},
		{"99999999999999999999", 0, ErrRange},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := Decimal(tc.in)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("Decimal(%q) = %d, %v; want %d, %v", tc.in, got, err, tc.want, tc.err)
			}
		})
	}
}

func TestFromHex(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []byte
		ok   bool
	}{
		{"AbCd", []byte{0xab, 0xcd}, true}, {" ab cd\n", []byte{0xab, 0xcd}, true}, {"", []byte{}, true},
		{"a bcd", nil, false}, {"abc", nil, false}, {"zz", nil, false},
	} {
		got, err := FromHex(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !bytes.Equal(got, tc.want)) {
			t.Errorf("FromHex(%q) = %x, %v", tc.in, got, err)
		}
	}
}

// FuzzUint: whatever Uint accepts, Syntax accepts too, and the value prints
// back to an accepted number; nothing panics.
func FuzzUint(f *testing.F) {
	for _, s := range []string{"0x21", " 1_0 ", "-0", "0b", "07", "+0o7_7", "1" + string(rune(0x663))} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, err := Uint(s)
		if err != nil {
			return
		}
		if !Syntax(s, true) {
			t.Errorf("Uint(%q) = %d but Syntax refuses it", s, v)
		}
		if w, err := Uint(strconv.FormatUint(v, 10)); err != nil || w != v {
			t.Errorf("%d does not parse back: %d, %v", v, w, err)
		}
		Decimal(s)
		FromHex(s)
	})
}
