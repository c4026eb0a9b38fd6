package workspaces

import "sync"

// Bounds of the memory of files read from commits (see ReadFiles): files
// of up to fileMemoryMax bytes are remembered, and all are forgotten when
// fileMemorySize of them, or fileMemoryBytes of content, are remembered.
// Files read this way are a repository's configuration (.planbot.yaml,
// CODEOWNERS), so a few hundred commits' worth fit.
const (
	fileMemoryMax   = 256 << 10
	fileMemorySize  = 512
	fileMemoryBytes = 8 << 20
)

// fileMemory remembers the files of commits that ReadFiles read, and
// those it found missing. A commit's files never change, so nothing in it
// is ever stale. Its methods are safe for concurrent use.
type fileMemory struct {
	mu    sync.Mutex
	files map[string]rememberedFile
	size  int // bytes of the remembered files
}

type rememberedFile struct {
	data  []byte
	found bool
}

func fileKey(cache, sha, path string) string { return cache + "\x00" + sha + "\x00" + path }

// get returns what is remembered of path in commit sha of cache: its
// content and whether it exists, and ok false when nothing is.
func (f *fileMemory) get(cache, sha, path string) (data []byte, found, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	r, ok := f.files[fileKey(cache, sha, path)]
	if !ok {
		return nil, false, false
	}
	return append([]byte(nil), r.data...), r.found, true
}

// put remembers path in commit sha of cache: its content when found, or
// that it does not exist. Files over fileMemoryMax are not remembered.
func (f *fileMemory) put(cache, sha, path string, data []byte, found bool) {
	if len(data) > fileMemoryMax {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.files == nil || len(f.files) >= fileMemorySize || f.size+len(data) > fileMemoryBytes {
		f.files, f.size = make(map[string]rememberedFile), 0
	}
	f.files[fileKey(cache, sha, path)] = rememberedFile{data: append([]byte(nil), data...), found: found}
	f.size += len(data)
}
