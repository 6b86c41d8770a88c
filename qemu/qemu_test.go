package qemu

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/snpmeasure/snpmeasure/idblock"
	"github.com/snpmeasure/snpmeasure/vmsa"
)

func TestParseVersion(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Version
		ok   bool
	}{
		{"9.1", v9_1, true}, {"10.0.2", v10_0, true}, {" 11.1 ", v11_1, true}, {"11.1.3", v11_1, true},
		{"10", Version{}, false}, {"10.0.2.1", Version{}, false}, {"v10.0", Version{}, false}, {"", Version{}, false},
		{"99999.0", Version{}, false},
	} {
		v, err := ParseVersion(tc.in)
		var ie *InputError
		if tc.ok != (err == nil) || v != tc.want || (err != nil && !errors.As(err, &ie)) {
			t.Errorf("ParseVersion(%q) = %v, %v", tc.in, v, err)
		}
	}
}

func TestCheckVersion(t *testing.T) {
	for _, tc := range []struct {
		v       Version
		refused string // substring of the reason, "" when accepted
		note    bool
	}{
		{Version{8, 2}, "from 9.1 on", false},
		{Version{9, 0}, "from 9.1 on", false},
		{v9_1, "", false}, {v9_2, "", false}, {v10_0, "", false}, {v10_1, "", false}, {v10_2, "", false},
		{v11_0, "", false}, {v11_1, "", false},
		{Version{11, 2}, "", true},
		{Version{10, 3}, "no such release", false},
		{Version{11, 3}, "no such release", false},
		{Version{12, 0}, "newer than every release", false},
	} {
		note, err := CheckVersion(tc.v)
		var re *RefusedError
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s: %v", tc.v, err)
		case tc.refused != "" && (!errors.As(err, &re) || re.Field != "qemu-version" || !strings.Contains(err.Error(), tc.refused)):
			t.Errorf("%s: %v, want a refusal with %q", tc.v, err, tc.refused)
		case (note != "") != tc.note:
			t.Errorf("%s: note %q", tc.v, note)
		}
	}
	for _, v := range Releases() {
		if _, err := CheckVersion(v); err != nil {
			t.Errorf("release %s: %v", v, err)
		}
	}
}

func TestParseMemory(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want uint64
		err  string // "input" or "refused"
	}{
		{"2G", 2048, ""}, {"2g", 2048, ""}, {"2048M", 2048, ""}, {"2048", 2048, ""}, {"512", 512, ""},
		{"524288K", 512, ""}, {"128M", 128, ""}, {"978G", 978 << 10, ""}, {"1001472M", 978 << 10, ""},
		{"127M", 0, "refused"}, {"979G", 0, "refused"}, {"1T", 0, "refused"}, {"99999999T", 0, "refused"},
		{"18446744073709551615", 0, "refused"}, {"99999999999999999999999G", 0, "refused"}, {"0", 0, "refused"},
		{"1000K", 0, "input"}, {"lots", 0, "input"}, {"", 0, "input"}, {"2 G", 0, "input"}, {"1.5G", 0, "input"},
		{"-1G", 0, "input"}, {"2GB", 0, "input"}, {"G", 0, "input"},
	} {
		got, err := ParseMemory(tc.in)
		var re *RefusedError
		var ie *InputError
		switch tc.err {
		case "":
			if err != nil || got != tc.want {
				t.Errorf("ParseMemory(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
			}
		case "refused":
			if !errors.As(err, &re) {
				t.Errorf("ParseMemory(%q) = %d, %v; want a refusal", tc.in, got, err)
			}
		case "input":
			if !errors.As(err, &ie) {
				t.Errorf("ParseMemory(%q) = %d, %v; want an input error", tc.in, got, err)
			}
		}
	}
	for mib, want := range map[uint64]string{2048: "2G", 1536: "1536M", 128: "128M", MaxMemoryMiB: "978G"} {
		if got := FormatMemory(mib); got != want {
			t.Errorf("FormatMemory(%d) = %s, want %s", mib, got, want)
		}
		if back, err := ParseMemory(FormatMemory(mib)); err != nil || back != mib {
			t.Errorf("ParseMemory(FormatMemory(%d)) = %d, %v", mib, back, err)
		}
	}
}

// TestCPUModels checks the table: every snpmeasure vCPU type is a QEMU
// model, releases only add models (so a command line for release v runs on
// later ones), and EPYC-Turin is 10.1's.
func TestCPUModels(t *testing.T) {
	for _, c := range vmsa.CPUTypes {
		if _, ok := CPUModelSince(c.Name); !ok {
			t.Errorf("vCPU type %s is not in the QEMU model table", c.Name)
		}
	}
	rel := Releases()
	for i := 1; i < len(rel); i++ {
		prev, cur := CPUModels(rel[i-1]), CPUModels(rel[i])
		for _, m := range prev {
			if !slices.Contains(cur, m) {
				t.Errorf("%s has %s, %s does not", rel[i-1], m, rel[i])
			}
		}
	}
	if slices.Contains(CPUModels(v10_0), "EPYC-Turin") || !slices.Contains(CPUModels(v10_1), "EPYC-Turin") {
		t.Errorf("EPYC-Turin: 10.0 %v, 10.1 %v", CPUModels(v10_0), CPUModels(v10_1))
	}
	if got := len(CPUModels(v10_0)); got != 16 {
		t.Errorf("QEMU 10.0 has %d EPYC models, want 16", got)
	}
}

// launch is a valid launch for the tests to vary.
func launch() *Launch {
	return &Launch{Firmware: "OVMF.fd", VCPUs: 2, CPUModel: "EPYC-Milan", Signature: 0xa00f11,
		GuestFeatures: FeatureSNPActive, Policy: 0x30000, MemoryMiB: 2048, Measurement: make([]byte, 48)}
}

func TestBuild(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(*Launch)
		v      Version
		want   []string // arguments that must follow each other
		object string   // the sev-snp-guest object
		note   string
	}{
		{"firmware", func(*Launch) {}, v9_1,
			[]string{"-m", "2G", "-cpu", "EPYC-Milan", "-smp", "2", "-bios", "OVMF.fd"},
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000", "guest features 0x1"},
		{"kernel", func(l *Launch) { l.Kernel, l.Initrd, l.Append = "k", "i", "a b" }, v10_0,
			[]string{"-bios", "OVMF.fd", "-kernel", "k", "-initrd", "i", "-append", "a b"},
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1,policy=0x30000,kernel-hashes=on", ""},
		{"kernel, empty command line", func(l *Launch) { l.Kernel = "k" }, v10_0,
			[]string{"-kernel", "k", "-append", ""}, "policy=0x30000,kernel-hashes=on", ""},
		{"memory in MiB", func(l *Launch) { l.MemoryMiB = 1536 }, v9_1,
			[]string{"-object", "memory-backend-memfd,id=ram1,size=1536M,share=true,prealloc=false", "-m", "1536M"}, "", ""},
		{"signature", func(l *Launch) { l.CPUModel = "" }, v9_1,
			[]string{"-cpu", "EPYC-Milan"}, "", "models with this signature: EPYC-Milan, EPYC-Milan-v1, EPYC-Milan-v2"},
		{"turin", func(l *Launch) { l.CPUModel, l.Signature = "", vmsa.Signature(26, 0, 0) }, v10_1,
			[]string{"-cpu", "EPYC-Turin"}, "", "-cpu EPYC-Turin"},
		{"host data and cbitpos", func(l *Launch) { l.HostData = make([]byte, 32); l.CBitPos = 47 }, v10_2, nil,
			"sev-snp-guest,id=sev0,cbitpos=47,reduced-phys-bits=1,policy=0x30000,host-data=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=", ""},
		{"newer minor", func(*Launch) {}, Version{11, 2}, nil, "", "newer than 11.1"},
		{"igvm", func(l *Launch) { l.IGVM, l.Policy, l.GuestFeatures = "guest.igvm", 0, 0x21 }, v10_1,
			[]string{"-machine", "q35,confidential-guest-support=sev0,memory-backend=ram1,igvm-cfg=igvm0", "-object",
				"memory-backend-memfd,id=ram1,size=2G,share=true,prealloc=false", "-m", "2G", "-cpu", "EPYC-Milan", "-smp", "2",
				"-object", "igvm-cfg,id=igvm0,file=guest.igvm", "-object", "sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1"},
			"sev-snp-guest,id=sev0,cbitpos=51,reduced-phys-bits=1", "IGVM support"},
		{"igvm path with a comma", func(l *Launch) { l.IGVM, l.Policy, l.GuestFeatures = "a,b c.igvm", 0, 0x21 }, v10_1,
			[]string{"-object", "igvm-cfg,id=igvm0,file=a,,b c.igvm"}, "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := launch()
			tc.edit(l)
			cl, err := l.Build(tc.v)
			if err != nil {
				t.Fatal(err)
			}
			if !hasRun(cl.Args, tc.want) {
				t.Errorf("args lack %q:\n%q", tc.want, cl.Args)
			}
			objs := cl.Objects()
			if last := objs[len(objs)-1]; tc.object != "" && !strings.HasSuffix(last, tc.object) {
				t.Errorf("object %s, want %s", last, tc.object)
			}
			if tc.note != "" && !strings.Contains(strings.Join(cl.Notes, "\n"), tc.note) {
				t.Errorf("notes %q lack %q", cl.Notes, tc.note)
			}
			if cl.Args[0] != "-enable-kvm" || (l.IGVM != "") == slices.Contains(cl.Args, "-bios") {
				t.Errorf("args %q", cl.Args)
			}
			// Every property of the sev-snp-guest object exists in that release.
			props := strings.Split(objs[len(objs)-1], ",")[1:]
			for _, p := range props {
				name, _, _ := strings.Cut(p, "=")
				if name != "id" && !slices.Contains(SNPGuestProperties(tc.v), name) {
					t.Errorf("QEMU %s's sev-snp-guest has no property %s", tc.v, name)
				}
			}
		})
	}
}

// hasRun reports whether want occurs in args as consecutive arguments.
func hasRun(args, want []string) bool {
	if len(want) == 0 {
		return true
	}
	for i := 0; i+len(want) <= len(args); i++ {
		if slices.Equal(args[i:i+len(want)], want) {
			return true
		}
	}
	return false
}

func TestBuildRefuses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		edit  func(*Launch)
		v     Version
		field string
		kind  string // "refused" or "input"
		msg   string
	}{
		{"old qemu", func(*Launch) {}, Version{9, 0}, "qemu-version", "refused", "from 9.1 on"},
		{"turin on 10.0", func(l *Launch) { l.CPUModel = "EPYC-Turin"; l.Signature = vmsa.Signature(26, 0, 0) }, v10_0, "vcpu-type", "refused", "came in 10.1"},
		{"turin signature on 10.0", func(l *Launch) { l.CPUModel = ""; l.Signature = vmsa.Signature(26, 0, 0) }, v10_0, "vcpu-sig", "refused", "EPYC-Turin (QEMU 10.1+)"},
		{"unknown signature", func(l *Launch) { l.CPUModel = ""; l.Signature = 0x123 }, v11_1, "vcpu-sig", "refused", "no QEMU -cpu model"},
		{"not a model", func(l *Launch) { l.CPUModel = "Skylake-Server" }, v11_1, "vcpu-type", "refused", "not an AMD EPYC model"},
		{"model and signature differ", func(l *Launch) { l.Signature = 0x800f12 }, v11_1, "vcpu-type", "input", "signature is 0xa00f11"},
		{"genoa-v3 on 11.0", func(l *Launch) { l.CPUModel = "EPYC-Genoa-v3"; l.Signature = 0 }, v11_0, "vcpu-type", "refused", "came in 11.1"},
		{"debug swap", func(l *Launch) { l.GuestFeatures = 0x21 }, v11_1, "guest-features", "refused", "DebugSwap (0x20)"},
		{"secure tsc", func(l *Launch) { l.GuestFeatures = 0x201 }, v10_2, "guest-features", "refused", "Secure TSC (0x200)"},
		{"vtom", func(l *Launch) { l.GuestFeatures = 0x3 }, v10_0, "guest-features", "refused", "virtual TOM (0x2)"},
		{"unnamed bit", func(l *Launch) { l.GuestFeatures = 1 | 1<<40 }, v10_0, "guest-features", "refused", "bit 40"},
		{"no snp bit", func(l *Launch) { l.GuestFeatures = 0x20 }, v10_0, "guest-features", "refused", "bit 0"},
		{"ec2", func(l *Launch) { l.VMM = vmsa.EC2 }, v10_0, "vmm-type", "refused", "ec2's VMM"},
		{"legacy kvm", func(l *Launch) { l.LegacyKVM = true }, v10_0, "kvm-init", "refused", "KVM_SEV_INIT2"},
		{"no vcpus", func(l *Launch) { l.VCPUs = 0 }, v10_0, "vcpus", "refused", "1 to 4096"},
		{"too many vcpus", func(l *Launch) { l.VCPUs = 4097 }, v10_0, "vcpus", "refused", "1 to 4096"},
		{"too much memory", func(l *Launch) { l.MemoryMiB = MaxMemoryMiB + 1 }, v10_0, "memory", "refused", "above 978G"},
		{"too little memory", func(l *Launch) { l.MemoryMiB = 64 }, v10_0, "memory", "refused", "below 128M"},
		{"policy bit 17", func(l *Launch) { l.Policy = 0x10000 }, v10_0, "policy", "input", "bit 17"},
		{"host data", func(l *Launch) { l.HostData = make([]byte, 31) }, v10_0, "host-data", "input", "31 bytes, want 32"},
		{"igvm on 10.0", func(l *Launch) { l.IGVM = "g.igvm" }, v10_0, "igvm", "refused", "came in 10.1"},
		{"igvm with kernel", func(l *Launch) { l.IGVM, l.Kernel = "g.igvm", "k" }, v10_1, "igvm", "refused", "no -kernel"},
		{"id block alone", func(l *Launch) { l.IDBlock = make([]byte, 96) }, v10_0, "id-block", "input", "go together"},
		{"id block size", func(l *Launch) { l.IDBlock, l.IDAuth = make([]byte, 95), make([]byte, 4096) }, v10_0, "id-block", "input", "95 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := launch()
			tc.edit(l)
			_, err := l.Build(tc.v)
			var re *RefusedError
			var ie *InputError
			switch {
			case err == nil:
				t.Fatal("accepted")
			case tc.kind == "refused" && (!errors.As(err, &re) || re.Field != tc.field):
				t.Errorf("%v (%T), want a refusal of %s", err, err, tc.field)
			case tc.kind == "input" && (!errors.As(err, &ie) || ie.Field != tc.field):
				t.Errorf("%v (%T), want an input error of %s", err, err, tc.field)
			case !strings.Contains(err.Error(), tc.msg):
				t.Errorf("%v, want %q", err, tc.msg)
			}
			if err2 := l.Check(tc.v); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("Check: %v, Build: %v", err2, err)
			}
		})
	}
}

// TestBuildIDBlock signs ID blocks and checks what Build makes of them.
func TestBuildIDBlock(t *testing.T) {
	key := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		return k
	}
	idKey, authorKey := key(), key()
	var m [48]byte
	m[0] = 0x4d
	sign := func(policy uint64, author *ecdsa.PrivateKey) ([]byte, []byte) {
		b := idblock.NewBlock(m)
		b.Policy = policy
		a, err := idblock.NewAuth(rand.Reader, b, idKey, author)
		if err != nil {
			t.Fatal(err)
		}
		return b.Marshal(), a.Marshal()
	}
	blk, auth := sign(0x30000, authorKey)
	blkNoAuthor, authNoAuthor := sign(0x130000, nil)
	badAuth := slices.Clone(auth)
	badAuth[idblock.OffAuthBlockSignature] ^= 1
	for _, tc := range []struct {
		name       string
		edit       func(*Launch)
		suffix     string // of the sev-snp-guest object
		err        string // Build's error
		checkError bool   // Check fails too
	}{
		{"author key", func(l *Launch) { l.IDBlock, l.IDAuth = blk, auth }, ",author-key-enabled=on", "", false},
		{"no author key", func(l *Launch) { l.IDBlock, l.IDAuth, l.Policy = blkNoAuthor, authNoAuthor, 0x130000 }, "==", "", false},
		{"policy differs", func(l *Launch) { l.IDBlock, l.IDAuth = blkNoAuthor, authNoAuthor }, "", "the ID block's policy is 0x130000", true},
		{"other measurement", func(l *Launch) { l.IDBlock, l.IDAuth, l.Measurement = blk, auth, make([]byte, 48) }, "", "for another launch measurement", false},
		{"no measurement", func(l *Launch) { l.IDBlock, l.IDAuth, l.Measurement = blk, auth, nil }, "", "no launch measurement", false},
		{"bad signature", func(l *Launch) { l.IDBlock, l.IDAuth = blk, badAuth }, "", "signature does not verify", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := launch()
			l.Measurement = m[:]
			tc.edit(l)
			cl, err := l.Build(v10_0)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("%v, want %q", err, tc.err)
				}
				if cerr := l.Check(v10_0); (cerr != nil) != tc.checkError {
					t.Errorf("Check: %v", cerr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			objs := cl.Objects()
			if obj := objs[len(objs)-1]; !strings.HasSuffix(obj, tc.suffix) || !strings.Contains(obj, ",id-block=") {
				t.Errorf("object %s", obj)
			}
		})
	}
	l := launch()
	l.Measurement = m[:]
	l.IDBlock, l.IDAuth = blk, auth
	l.Measurement = make([]byte, 48)
	_, err := l.Build(v10_0)
	var ide *IDBlockError
	if !errors.As(err, &ide) || !errors.Is(err, ErrIDBlockMeasurement) {
		t.Errorf("%v (%T), want an IDBlockError wrapping ErrIDBlockMeasurement", err, err)
	}
}

func TestFeatureNames(t *testing.T) {
	got := strings.Join(FeatureNames(0x221|1<<12), ", ")
	if want := "SNP active (0x1), DebugSwap (0x20), Secure TSC (0x200), bit 12 (0x1000)"; got != want {
		t.Errorf("%s, want %s", got, want)
	}
}
