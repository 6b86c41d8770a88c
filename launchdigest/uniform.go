package launchdigest

import (
	"bytes"
	"crypto/sha512"
	"sync"
)

// uniformPages remembers the digests of pages whose bytes are all one value.
// Firmware images are mostly such pages (an AmdSevX64 OVMF build is 82%
// 0xff padding), and telling that a page is uniform costs a twentieth of
// hashing it. One is made per hashing run: no state outlives it.
type uniformPages struct {
	mu      sync.Mutex
	digests map[byte]Digest
}

// digest returns the SHA-384 of page.
func (u *uniformPages) digest(page []byte) Digest {
	// Every byte equals the next one exactly when the page is uniform.
	if len(page) == 0 || !bytes.Equal(page[1:], page[:len(page)-1]) {
		return sha512.Sum384(page)
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	d, ok := u.digests[page[0]]
	if !ok {
		if u.digests == nil {
			u.digests = map[byte]Digest{}
		}
		d = sha512.Sum384(page)
		u.digests[page[0]] = d
	}
	return d
}
