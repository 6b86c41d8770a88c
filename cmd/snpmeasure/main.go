// Command snpmeasure computes and checks AMD SEV-SNP launch measurements.
package main

import (
	"embed"
	"os"

	"github.com/snpmeasure/snpmeasure/internal/cli"
)

// version is the snpmeasure release; overridden with -ldflags "-X main.version=...".
var version = "0.1.0"

//go:embed help/*.txt
var helpFiles embed.FS

// app is the program; each command file registers its command from init.
var app = newApp()

func newApp() *cli.App {
	a := cli.New("snpmeasure", version, helpFiles)
	a.Default = "measure"
	return a
}

func main() {
	app.HandleSignals()
	os.Exit(app.ExitCode(app.Run(os.Args[1:], os.Stdout, os.Stderr), os.Stderr))
}
