package launchdigest

import (
	"bytes"
	"crypto/sha512"
	"testing"
)

// TestHashPagesUniform: pages of one repeated byte take the cached digest,
// pages that differ from one in a single byte do not.
func TestHashPagesUniform(t *testing.T) {
	var data []byte
	for _, v := range []byte{0xff, 0x00, 0xff, 0x5a} {
		page := bytes.Repeat([]byte{v}, PageSize)
		data = append(data, page...)
		for _, at := range []int{0, 1, PageSize / 2, PageSize - 1} {
			near := bytes.Clone(page)
			near[at] ^= 1
			data = append(data, near...)
		}
	}
	got, err := HashPages(bytes.NewReader(data), int64(len(data)), nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := range got {
		if want := sha512.Sum384(data[i*PageSize : (i+1)*PageSize]); got[i] != want {
			t.Errorf("page %d: %s, want %x", i, got[i], want)
		}
	}
}
