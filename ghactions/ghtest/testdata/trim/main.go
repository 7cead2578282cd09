// Command trim cuts GitHub's OpenAPI description of api.github.com down to
// the operations ghtest serves, with every component they reference and
// nothing else (no examples, no x-octokit). It lives under testdata so the
// go tool never builds it; run it by hand when refreshing the description:
//
//	go run ./ghactions/ghtest/testdata/trim/main.go api.github.com.json > ghactions/ghtest/testdata/api.github.com.actions.json
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strings"
)

// operations are the (path, method) pairs ghtest serves.
var operations = map[string][]string{
	"/rate_limit":                                                      {"get"},
	"/repos/{owner}/{repo}":                                            {"get"},
	"/repos/{owner}/{repo}/actions/workflows":                          {"get"},
	"/repos/{owner}/{repo}/actions/workflows/{workflow_id}":            {"get"},
	"/repos/{owner}/{repo}/actions/workflows/{workflow_id}/enable":     {"put"},
	"/repos/{owner}/{repo}/actions/workflows/{workflow_id}/disable":    {"put"},
	"/repos/{owner}/{repo}/actions/workflows/{workflow_id}/dispatches": {"post"},
	"/repos/{owner}/{repo}/actions/workflows/{workflow_id}/runs":       {"get"},
	"/repos/{owner}/{repo}/actions/runs":                               {"get"},
	"/repos/{owner}/{repo}/actions/runs/{run_id}":                      {"get"},
	"/repos/{owner}/{repo}/actions/runs/{run_id}/rerun":                {"post"},
	"/repos/{owner}/{repo}/actions/runs/{run_id}/rerun-failed-jobs":    {"post"},
	"/repos/{owner}/{repo}/actions/runs/{run_id}/cancel":               {"post"},
	"/repos/{owner}/{repo}/actions/runs/{run_id}/force-cancel":         {"post"},
}

// extraSchemas are kept although no kept operation names them: the
// error bodies GitHub sends for statuses an operation does not list.
var extraSchemas = []string{"basic-error", "validation-error-simple", "validation-error"}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: trim api.github.com.json")
		os.Exit(2)
	}
	b, err := os.ReadFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	paths := doc["paths"].(map[string]any)
	comps := doc["components"].(map[string]any)

	outPaths := map[string]any{}
	for p, methods := range operations {
		item, ok := paths[p].(map[string]any)
		if !ok {
			fmt.Fprintf(os.Stderr, "path %s not in the description\n", p)
			os.Exit(1)
		}
		kept := map[string]any{}
		for _, m := range methods {
			op, ok := item[m]
			if !ok {
				fmt.Fprintf(os.Stderr, "%s %s not in the description\n", m, p)
				os.Exit(1)
			}
			kept[m] = clean(op)
		}
		if params, ok := item["parameters"]; ok {
			kept["parameters"] = clean(params)
		}
		outPaths[p] = kept
	}

	// The closure of $refs over components.
	outComps := map[string]map[string]any{}
	var queue []string
	for _, s := range extraSchemas {
		queue = append(queue, "#/components/schemas/"+s)
	}
	collectRefs(outPaths, &queue)
	seen := map[string]bool{}
	for len(queue) > 0 {
		ref := queue[0]
		queue = queue[1:]
		if seen[ref] {
			continue
		}
		seen[ref] = true
		parts := strings.Split(strings.TrimPrefix(ref, "#/components/"), "/")
		if len(parts) != 2 {
			fmt.Fprintf(os.Stderr, "unexpected $ref %s\n", ref)
			os.Exit(1)
		}
		kind, name := parts[0], parts[1]
		src, ok := comps[kind].(map[string]any)[name]
		if !ok {
			fmt.Fprintf(os.Stderr, "dangling $ref %s\n", ref)
			os.Exit(1)
		}
		v := clean(src)
		if outComps[kind] == nil {
			outComps[kind] = map[string]any{}
		}
		outComps[kind][name] = v
		collectRefs(v, &queue)
	}

	out := map[string]any{
		"openapi":    doc["openapi"],
		"info":       map[string]any{"title": "GitHub v3 REST API (trimmed to the operations ghtest serves)", "version": "1.1.4"},
		"servers":    doc["servers"],
		"paths":      outPaths,
		"components": outComps,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	var names []string
	for k, m := range outComps {
		for n := range m {
			names = append(names, k+"/"+n)
		}
	}
	sort.Strings(names)
	fmt.Fprintf(os.Stderr, "kept %d paths, %d components\n", len(outPaths), len(names))
}

// clean drops examples and x-octokit (octokit's extension) everywhere but
// among a schema's property names, where they would be fields.
func clean(v any) any { return cleanIn(v, "") }

func cleanIn(v any, parent string) any {
	switch t := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, x := range t {
			if parent != "properties" && (k == "examples" || k == "example" || k == "x-octokit") {
				continue
			}
			out[k] = cleanIn(x, k)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = cleanIn(x, "")
		}
		return out
	}
	return v
}

func collectRefs(v any, queue *[]string) {
	switch t := v.(type) {
	case map[string]any:
		for k, x := range t {
			if k == "$ref" {
				if s, ok := x.(string); ok {
					*queue = append(*queue, s)
				}
				continue
			}
			collectRefs(x, queue)
		}
	case []any:
		for _, x := range t {
			collectRefs(x, queue)
		}
	}
}
