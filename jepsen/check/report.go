package check

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/raftvec/raftvec/jepsen/history"
)

// Report is everything index.html shows about one run.
type Report struct {
	Title    string
	Workload string
	Nemesis  string
	// Command reproduces the run.
	Command  string
	Started  time.Time
	Duration time.Duration
	Results  []Result
	// Counts are operation counts, typically history.Counts.
	Counts   map[string]int
	Timeline []history.NemesisEvent
	// Files are the run's other files (history, nemesis timeline, server
	// logs), linked from the page.
	Files []Link
	// MaxAnomalies caps the anomalies listed per checker; 0 means 100.
	MaxAnomalies int
}

// Link is a labelled file path.
type Link struct {
	Label string
	Path  string
}

// WriteReport renders rep to path (conventionally index.html). Absolute
// paths in links are made relative to path's directory, so the run
// directory can be moved.
func WriteReport(path string, rep Report) error {
	dir := filepath.Dir(path)
	rel := func(p string) string {
		if !filepath.IsAbs(p) {
			return p
		}
		absDir, err := filepath.Abs(dir)
		if err != nil {
			return p
		}
		if r, err := filepath.Rel(absDir, p); err == nil {
			return filepath.ToSlash(r)
		}
		return p
	}
	files := make([]Link, len(rep.Files))
	for i, l := range rep.Files {
		files[i] = Link{l.Label, rel(l.Path)}
	}
	rep.Files = files
	results := make([]Result, len(rep.Results))
	for i, res := range rep.Results {
		if len(res.Artifacts) > 0 {
			arts := make(map[string]string, len(res.Artifacts))
			for k, p := range res.Artifacts {
				arts[k] = rel(p)
			}
			res.Artifacts = arts
		}
		results[i] = res
	}
	rep.Results = results

	var buf bytes.Buffer
	if err := RenderReport(&buf, rep); err != nil {
		return err
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

type reportView struct {
	Report
	Valid   bool
	Checker []checkerView
}

type checkerView struct {
	Result
	Shown  []Anomaly
	Hidden int
}

// RenderReport writes rep as a self-contained HTML page.
func RenderReport(w io.Writer, rep Report) error {
	limit := rep.MaxAnomalies
	if limit <= 0 {
		limit = 100
	}
	v := reportView{Report: rep, Valid: AllValid(rep.Results)}
	for _, res := range rep.Results {
		cv := checkerView{Result: res, Shown: res.Anomalies}
		if len(cv.Shown) > limit {
			cv.Shown, cv.Hidden = cv.Shown[:limit], len(cv.Shown)-limit
		}
		v.Checker = append(v.Checker, cv)
	}
	if err := reportTemplate.Execute(w, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"seconds": func(n int64) string { return fmt.Sprintf("%.3f s", float64(n)/1e9) },
	"ts": func(t time.Time) string {
		if t.IsZero() {
			return ""
		}
		return t.UTC().Format(time.RFC3339)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{with .Title}}{{.}}{{else}}raftvec consistency run{{end}}</title>
<style>
body { font-family: system-ui, sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.7em; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
.pass { background: #d7f5d7; color: #135c13; font-weight: bold; }
.fail { background: #f8d4d4; color: #8a1010; font-weight: bold; }
.banner { padding: 0.6em 1em; display: inline-block; font-size: 1.2em; }
.kind { font-family: monospace; }
.small { color: #666; font-size: 0.9em; }
code { background: #f3f3f3; padding: 0.1em 0.3em; }
</style>
</head>
<body>
<h1>{{with .Title}}{{.}}{{else}}raftvec consistency run{{end}}</h1>
<p class="banner {{if .Valid}}pass{{else}}fail{{end}}">{{if .Valid}}PASS: every checker is valid{{else}}FAIL: anomalies found{{end}}</p>
<table>
{{with .Workload}}<tr><th>workload</th><td>{{.}}</td></tr>{{end}}
{{with .Nemesis}}<tr><th>nemesis</th><td>{{.}}</td></tr>{{end}}
{{with ts .Started}}<tr><th>started</th><td>{{.}}</td></tr>{{end}}
{{if .Duration}}<tr><th>duration</th><td>{{.Duration}}</td></tr>{{end}}
{{with .Command}}<tr><th>reproduce</th><td><code>{{.}}</code></td></tr>{{end}}
</table>

<h2>Verdicts</h2>
<table>
<tr><th>checker</th><th>verdict</th><th>anomalies</th><th>counts</th><th>files</th></tr>
{{range .Checker}}<tr>
<td><a href="#checker-{{.Name}}">{{.Name}}</a></td>
<td class="{{if .Valid}}pass{{else}}fail{{end}}">{{if .Valid}}valid{{else}}INVALID{{end}}</td>
<td>{{len .Anomalies}}</td>
<td class="small">{{range $k, $v := .Counts}}{{$k}}={{$v}} {{end}}</td>
<td>{{range $k, $p := .Artifacts}}<a href="{{$p}}">{{$k}}</a> {{end}}</td>
</tr>
{{end}}</table>

{{range .Checker}}<h3 id="checker-{{.Name}}">{{.Name}}: <span class="{{if .Valid}}pass{{else}}fail{{end}}">{{if .Valid}}valid{{else}}INVALID{{end}}</span></h3>
{{range .Notes}}<p class="small">{{.}}</p>{{end}}
{{if .Shown}}<table>
<tr><th>kind</th><th>ops</th><th>message</th></tr>
{{range .Shown}}<tr><td class="kind">{{.Kind}}</td><td>{{range .Ops}}{{.}} {{end}}</td><td>{{.Message}}</td></tr>
{{end}}</table>
{{if .Hidden}}<p class="small">… and {{.Hidden}} more anomalies not listed.</p>{{end}}
{{else}}<p class="small">No anomalies.</p>{{end}}
{{end}}

{{if .Counts}}<h2>Operations</h2>
<table>
<tr><th>count</th><th>value</th></tr>
{{range $k, $v := .Counts}}<tr><td class="kind">{{$k}}</td><td>{{$v}}</td></tr>
{{end}}</table>{{end}}

<h2>Nemesis timeline</h2>
{{if .Timeline}}<table>
<tr><th>start</th><th>end</th><th>kind</th><th>description</th><th>nodes</th></tr>
{{range .Timeline}}<tr><td>{{seconds .Time}}</td><td>{{if .End}}{{seconds .End}}{{end}}</td><td class="kind">{{.Kind}}</td><td>{{.Description}}</td><td>{{range .Nodes}}{{.}} {{end}}</td></tr>
{{end}}</table>{{else}}<p class="small">No faults were injected.</p>{{end}}

{{if .Files}}<h2>Files</h2>
<ul>
{{range .Files}}<li><a href="{{.Path}}">{{.Label}}</a></li>
{{end}}</ul>{{end}}
</body>
</html>
`))
