//go:build demo

package main

import (
	"github.com/uras-dev/uras/internal/demo"
	"github.com/uras-dev/uras/redundancy/launch"
)

// The demo verb, linked only with -tags demo (it uses the fakes):
//
//	go run -tags demo ./examples/launcher demo
func init() { command.Verbs = map[string]launch.Verb{"demo": demo.Verb(command)} }
