package verity

import (
	"bytes"
	"testing"
)

// FuzzSuperblock decodes arbitrary hash files: the superblock must decode or
// fail cleanly, and whatever it describes must be checked before any
// allocation or read it implies (verify is run against a small data file).
func FuzzSuperblock(f *testing.F) {
	p := Params{HashType: 1, Algorithm: "sha256", DataBlockSize: 4096, HashBlockSize: 4096,
		Salt: []byte{1, 2, 3}, UUID: UUID{1}}
	sb := Superblock{Version: SuperblockVersion, HashType: 1, Algorithm: "sha256",
		DataBlockSize: 4096, HashBlockSize: 4096, DataBlocks: 2, Salt: p.Salt, UUID: p.UUID}
	good, err := sb.MarshalBinary()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add(good[:100])
	f.Add(make([]byte, SuperblockSize))
	data := bytes.Repeat([]byte{0x5a}, 2*4096)
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := ReadSuperblock(bytes.NewReader(b))
		if err != nil {
			return
		}
		sp := s.Params()
		// A superblock may claim any number of blocks; Verify must refuse
		// what the 8 KiB of data and the given hash file cannot hold.
		Verify(bytes.NewReader(data), int64(len(data)), bytes.NewReader(b), sp, make([]byte, 32))
	})
}
