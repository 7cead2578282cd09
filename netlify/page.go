package netlify

import (
	"context"
	"fmt"
	"iter"
	"net/url"
	"strconv"
	"strings"
)

// MaxPerPage is the largest page the API serves: a larger per_page is
// capped to it.
const MaxPerPage = 100

// maxPages bounds how many pages AllDeploys reads (100,000 deploys at
// MaxPerPage), whatever the Link headers say.
const maxPages = 1000

// Page says where a listing stands, as the answer's Link header tells it
// (rel="next" and rel="last", as the Netlify API sends them).
type Page struct {
	// Next is the number of the next page; 0 on the last page.
	Next int
	// Last is the number of the last page; 0 when the API does not say.
	Last int
}

// More reports whether more pages follow.
func (p Page) More() bool { return p.Next > 0 }

// parseLink reads a Link header. A next page that does not come after
// current is ignored, so that a server sending the same page again cannot
// make a reader loop.
func parseLink(h string, current int) Page {
	var p Page
	for part := range strings.SplitSeq(h, ",") {
		target, params, ok := strings.Cut(strings.TrimSpace(part), ";")
		if !ok {
			continue
		}
		target = strings.TrimSpace(target)
		if !strings.HasPrefix(target, "<") || !strings.HasSuffix(target, ">") {
			continue
		}
		u, err := url.Parse(target[1 : len(target)-1])
		if err != nil {
			continue
		}
		n, err := strconv.Atoi(u.Query().Get("page"))
		if err != nil || n < 1 {
			continue
		}
		for param := range strings.SplitSeq(params, ";") {
			k, v, _ := strings.Cut(strings.TrimSpace(param), "=")
			if !strings.EqualFold(strings.TrimSpace(k), "rel") {
				continue
			}
			for rel := range strings.FieldsSeq(strings.Trim(strings.TrimSpace(v), `"`)) {
				switch strings.ToLower(rel) {
				case "next":
					if n > current {
						p.Next = n
					}
				case "last":
					p.Last = n
				}
			}
		}
	}
	return p
}

// AllDeploys lists a site's deploys across every page, newest first,
// reading the next page only when the loop asks for more. It yields an
// error (and stops) when a page cannot be read, or after reading 1,000
// pages. opts.Page is where it starts (default the first); opts.PerPage
// defaults to MaxPerPage.
func AllDeploys(ctx context.Context, c Client, siteID string, opts ListDeploysOptions) iter.Seq2[Deploy, error] {
	return func(yield func(Deploy, error) bool) {
		if opts.PerPage <= 0 {
			opts.PerPage = MaxPerPage
		}
		opts.Page = max(opts.Page, 1)
		for range maxPages {
			ds, page, err := c.ListDeploys(ctx, siteID, opts)
			if err != nil {
				yield(Deploy{}, err)
				return
			}
			SortNewestFirst(ds)
			for _, d := range ds {
				if !yield(d, nil) {
					return
				}
			}
			if !page.More() || len(ds) == 0 {
				return
			}
			opts.Page = page.Next
		}
		yield(Deploy{}, fmt.Errorf("netlify: list deploys of %s: more than %d pages", siteID, maxPages))
	}
}
