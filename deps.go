//go:build tools

package uras

import (
	_ "github.com/google/go-github/v62/github"
	_ "github.com/rhysd/actionlint"
	_ "github.com/sethvargo/go-retry"
	_ "github.com/stretchr/testify/require"
	_ "go.yaml.in/yaml/v3"
	_ "golang.org/x/sync/errgroup"
	_ "gopkg.in/natefinch/lumberjack.v2"
)
