module github.com/snpmeasure/snpmeasure

go 1.24.0

require github.com/spf13/pflag v1.0.10
