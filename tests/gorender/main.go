// Command gorender renders Go text/template requests read from stdin, one JSON object per line, and writes
// one JSON result per line. The differential tests start it once and stream many cases through it, so that
// Go's own text/template is the oracle for the Python engine.
//
// A request is an object with the fields template, data, funcs ("builtin", the only set) and, optionally,
// name (default "t"), options (for Template.Option, e.g. "missingkey=error") and delims (two strings).
// A response is {"ok": true, "output": ...} or {"ok": false, "phase": P, "error": ..., "output": ...} where
// P is parse, exec, panic or request and output is what was written before the error.
//
// JSON numbers in the data become int when they are integral literals and float64 otherwise, mirroring how
// Python's json module decodes them, so both engines see the same Go types.
package main

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"text/template"
	"unicode/utf8"
)

// outputLimit bounds what one request may write, so that a runaway template cannot exhaust memory.
const outputLimit = 1 << 20

type request struct {
	Template string          `json:"template"`
	Data     json.RawMessage `json:"data"`
	Funcs    string          `json:"funcs"`
	Name     string          `json:"name"`
	Options  []string        `json:"options"`
	Delims   []string        `json:"delims"`
}

type response struct {
	OK    bool   `json:"ok"`
	Phase string `json:"phase,omitempty"`
	Error string `json:"error,omitempty"`
	// Output is what the template wrote (before the error, if any). JSON strings cannot carry invalid UTF-8,
	// so OutputHex holds the exact bytes whenever Output had to be altered.
	Output    string `json:"output"`
	OutputHex string `json:"output_hex,omitempty"`
	Overflow  bool   `json:"overflow,omitempty"`
}

var errOverflow = errors.New("gorender: output limit exceeded")

type cappedBuffer struct {
	buf      bytes.Buffer
	overflow bool
}

func (c *cappedBuffer) Write(p []byte) (int, error) {
	if c.buf.Len()+len(p) > outputLimit {
		c.overflow = true
		return 0, errOverflow
	}
	return c.buf.Write(p)
}

// normalizeNumbers turns json.Number leaves into int (integral literals) or float64 (everything else).
func normalizeNumbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if i, err := strconv.ParseInt(string(x), 10, 64); err == nil {
			return int(i)
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = normalizeNumbers(e)
		}
		return x
	case []any:
		for i, e := range x {
			x[i] = normalizeNumbers(e)
		}
		return x
	}
	return v
}

func decodeData(raw json.RawMessage) (any, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	return normalizeNumbers(v), nil
}

func render(req *request) (resp response) {
	out := &cappedBuffer{}
	defer func() {
		if r := recover(); r != nil {
			resp = response{Phase: "panic", Error: fmt.Sprint(r)}
		}
		setOutput(&resp, out)
	}()

	data, err := decodeData(req.Data)
	if err != nil {
		return response{Phase: "request", Error: "bad data: " + err.Error()}
	}
	if req.Funcs != "" && req.Funcs != "builtin" {
		return response{Phase: "request", Error: "unknown function set " + strconv.Quote(req.Funcs)}
	}
	name := req.Name
	if name == "" {
		name = "t"
	}
	t := template.New(name)
	if len(req.Delims) == 2 {
		t.Delims(req.Delims[0], req.Delims[1])
	}
	if len(req.Options) > 0 {
		t.Option(req.Options...)
	}
	if _, err := t.Parse(req.Template); err != nil {
		return response{Phase: "parse", Error: err.Error()}
	}
	if err := t.Execute(out, data); err != nil {
		return response{Phase: "exec", Error: err.Error()}
	}
	return response{OK: true}
}

func setOutput(resp *response, out *cappedBuffer) {
	b := out.buf.Bytes()
	resp.Output = string(b)
	resp.Overflow = out.overflow
	if !utf8.Valid(b) {
		resp.OutputHex = hex.EncodeToString(b)
	}
}

func main() {
	in := bufio.NewReaderSize(os.Stdin, 1<<16)
	w := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for {
		line, err := in.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			var req request
			var resp response
			if jerr := json.Unmarshal(line, &req); jerr != nil {
				resp = response{Phase: "request", Error: "bad request: " + jerr.Error()}
			} else {
				resp = render(&req)
			}
			if eerr := enc.Encode(resp); eerr != nil {
				fmt.Fprintln(os.Stderr, "gorender:", eerr)
				os.Exit(1)
			}
			if ferr := w.Flush(); ferr != nil {
				os.Exit(1)
			}
		}
		if err == io.EOF {
			return
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "gorender:", err)
			os.Exit(1)
		}
	}
}
