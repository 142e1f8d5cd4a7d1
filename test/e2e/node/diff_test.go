package node

import (
	"fmt"
	"strings"

	"github.com/openshift/insights-runtime-extractor/test/e2e/expect"
)

// jsonMismatch reports with a line diff (- expected, + got) and the
// extractor's log when the body is not exactly the wanted document.
func jsonMismatch(body []byte, want any, logs string) (bool, string) {
	got, exp := expect.CanonicalBody(body), expect.Canonical(want)
	if got == exp {
		return true, ""
	}
	return false, fmt.Sprintf("the answer differs from what the samples are built on (- expected, + got):\n%s\nextractor_server log (end):\n%s", lineDiff(exp, got), logs)
}

// lineDiff is a small LCS line diff: enough for documents of a few hundred lines.
func lineDiff(a, b string) string {
	x, y := strings.Split(a, "\n"), strings.Split(b, "\n")
	n, m := len(x), len(y)
	lcs := make([][]int, n+1)
	for i := range lcs {
		lcs[i] = make([]int, m+1)
	}
	for i := n - 1; i >= 0; i-- {
		for j := m - 1; j >= 0; j-- {
			if x[i] == y[j] {
				lcs[i][j] = lcs[i+1][j+1] + 1
			} else {
				lcs[i][j] = max(lcs[i+1][j], lcs[i][j+1])
			}
		}
	}
	var out strings.Builder
	i, j := 0, 0
	for i < n || j < m {
		switch {
		case i < n && j < m && x[i] == y[j]:
			out.WriteString("  " + x[i] + "\n")
			i, j = i+1, j+1
		case j < m && (i == n || lcs[i][j+1] >= lcs[i+1][j]):
			out.WriteString("+ " + y[j] + "\n")
			j++
		default:
			out.WriteString("- " + x[i] + "\n")
			i++
		}
	}
	return out.String()
}
