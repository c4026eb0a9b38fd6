package terraform

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"

	"google.golang.org/protobuf/encoding/protowire"
)

// Field numbers in terraform's tfplan protocol buffer (planfile.proto):
// Plan.backend is a Backend message whose workspace is a string.
const (
	planBackendField      = 13
	backendWorkspaceField = 3
)

// planWorkspace returns the workspace a saved plan file was made in. A
// plan file is a zip archive; its "tfplan" member is a protocol buffer
// that records the backend, including the workspace.
func planWorkspace(planFile []byte) (string, error) {
	zr, err := zip.NewReader(bytes.NewReader(planFile), int64(len(planFile)))
	if err != nil {
		return "", fmt.Errorf("read plan file: %w", err)
	}
	f, err := zr.Open("tfplan")
	if err != nil {
		return "", fmt.Errorf("read plan file: %w", err)
	}
	defer f.Close()
	// The tfplan member holds only metadata and the changes; 64 MiB is
	// far beyond any real plan.
	raw, err := io.ReadAll(io.LimitReader(f, 64<<20))
	if err != nil {
		return "", fmt.Errorf("read plan file: %w", err)
	}
	backend, ok, err := protoBytes(raw, planBackendField)
	if err != nil || !ok {
		return "", fmt.Errorf("read plan file: no backend (%v)", err)
	}
	ws, ok, err := protoBytes(backend, backendWorkspaceField)
	if err != nil {
		return "", fmt.Errorf("read plan file: backend: %w", err)
	}
	if !ok {
		// proto3 omits empty strings; terraform always names the
		// workspace, so an empty one is "default" only in name.
		return "", errors.New("read plan file: backend has no workspace")
	}
	return string(ws), nil
}

// protoBytes returns the last value of the length-delimited field num in
// the protocol buffer message b, and reports whether it is present.
func protoBytes(b []byte, num protowire.Number) (val []byte, ok bool, err error) {
	for len(b) > 0 {
		n, t, l := protowire.ConsumeTag(b)
		if l < 0 {
			return nil, false, protowire.ParseError(l)
		}
		b = b[l:]
		if n == num && t == protowire.BytesType {
			v, l := protowire.ConsumeBytes(b)
			if l < 0 {
				return nil, false, protowire.ParseError(l)
			}
			val, ok = v, true
			b = b[l:]
			continue
		}
		l = protowire.ConsumeFieldValue(n, t, b)
		if l < 0 {
			return nil, false, protowire.ParseError(l)
		}
		b = b[l:]
	}
	return val, ok, nil
}
