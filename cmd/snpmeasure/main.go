// Command snpmeasure computes and checks AMD SEV-SNP launch measurements.
package main

import (
	"os"
)

func main() {
	handleSignals()
	os.Exit(exitCode(run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}
