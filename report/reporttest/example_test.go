package reporttest_test

import (
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/snpmeasure/snpmeasure/report"
	"github.com/snpmeasure/snpmeasure/report/reporttest"
)

// Example signs a Turin report with a test chain and verifies it with the
// test ARK trusted.
func Example() {
	t := exampleTB{}
	tcb := report.ComposeTCB(report.Turin, report.TCBParts{FMC: 1, BootLoader: 2, SNP: 3, Microcode: 4})
	pki := reporttest.NewPKI(t, reporttest.Options{Product: report.Turin, TCB: tcb})
	raw := reporttest.Sign(t, reporttest.NewReport(reporttest.Fields{Version: 5, Product: report.Turin, TCB: tcb}), pki.VCEKKey)
	r, err := report.Parse(append(raw, pki.StandardTable()...))
	if err != nil {
		fmt.Println(err)
		return
	}
	res := r.Verify(&report.Options{Trust: report.TrustOptions{Roots: []*x509.Certificate{pki.ARK}}})
	fmt.Println(res.Product, res.OK)
	res = r.Verify(nil) // AMD's roots do not certify test keys
	fmt.Println(res.OK)
	// Output:
	// Turin true
	// false
}

// exampleTB lets an Example use the fixtures: a fixture error panics.
type exampleTB struct{ testing.TB }

func (exampleTB) Helper()                      {}
func (exampleTB) Fatal(args ...any)            { panic(fmt.Sprint(args...)) }
func (exampleTB) Fatalf(f string, args ...any) { panic(fmt.Sprintf(f, args...)) }
