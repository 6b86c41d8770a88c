package completion_test

import (
	"fmt"
	"strings"

	"github.com/snpmeasure/snpmeasure/internal/completion"
)

func Example() {
	script, _ := completion.Script("fish", &completion.Spec{
		Program:  "tool",
		Commands: []string{"run"},
		Flags:    map[string]map[string]bool{"run": {"mode": true, "quiet": false}},
		Values:   map[string][]string{"mode": {"fast", "slow"}},
	})
	for _, l := range strings.Split(strings.TrimSpace(script), "\n")[1:] {
		fmt.Println(l)
	}
	// Output:
	// complete -c tool -f -n __fish_use_subcommand -a 'run'
	// complete -c tool -n '__fish_seen_subcommand_from run' -l mode -r -f -a 'fast slow'
	// complete -c tool -n '__fish_seen_subcommand_from run' -l quiet
}
