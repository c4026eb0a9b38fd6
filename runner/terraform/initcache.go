package terraform

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// DefaultInitCacheBytes bounds an InitCache whose MaxBytes is zero.
const DefaultInitCacheBytes = 2 << 30

// InitCache keeps what `terraform init` wrote into a root's .terraform,
// per digest of everything init reads (see initKey): the terraform
// binary, its CLI configuration and environment, the scope (the
// repository) and the credentials of the run, the dependency lock file,
// and the blocks that choose the backend, the providers and the module
// sources of the root and of the local modules it calls.
//
// A plan whose digest has an entry copies it into its fresh directory
// and skips init; see [Runner.Plan]. Entries are copies made by planbot
// itself right after init, before `terraform plan` runs anything a
// provider or the configuration controls; they are copied, never linked,
// so that no run can change what another run gets. The sandboxed
// terraform processes can neither read nor write Dir.
type InitCache struct {
	// Dir holds the entries. It must not lie inside a checkout.
	Dir string
	// MaxBytes bounds the entries' total size; the least recently used
	// go first. Zero means DefaultInitCacheBytes.
	MaxBytes int64

	// mu guards eviction.
	mu sync.Mutex
}

func (c *InitCache) maxBytes() int64 {
	if c.MaxBytes <= 0 {
		return DefaultInitCacheBytes
	}
	return c.MaxBytes
}

// entry files: data is the copy of .terraform (absent when init wrote
// none), size its size in bytes.
const (
	entryData = "data"
	entrySize = "size"
)

// restore copies the entry of key into dir/.terraform and reports whether
// there was one. dir must have no .terraform. On an error dir is left
// without one.
func (c *InitCache) restore(key, dir string) (bool, error) {
	entry := filepath.Join(c.Dir, key)
	if _, err := os.Stat(filepath.Join(entry, entrySize)); err != nil {
		return false, nil
	}
	now := time.Now()
	_ = os.Chtimes(entry, now, now) // least recently used goes first
	data := filepath.Join(entry, entryData)
	if _, err := os.Lstat(data); errors.Is(err, os.ErrNotExist) {
		return true, nil // init wrote nothing
	}
	dst := filepath.Join(dir, ".terraform")
	if _, err := copyTree(data, dst); err != nil {
		os.RemoveAll(dst)
		return false, fmt.Errorf("terraform: restore .terraform: %w", err)
	}
	return true, nil
}

// save stores dir/.terraform, as init just wrote it, as the entry of key.
func (c *InitCache) save(key, dir string) error {
	if err := os.MkdirAll(c.Dir, 0o700); err != nil {
		return err
	}
	if _, err := os.Stat(filepath.Join(c.Dir, key, entrySize)); err == nil {
		return nil // another plan stored it
	}
	tmp, err := os.MkdirTemp(c.Dir, "tmp-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	var size int64
	src := filepath.Join(dir, ".terraform")
	if fi, err := os.Lstat(src); err == nil && fi.IsDir() {
		if size, err = copyTree(src, filepath.Join(tmp, entryData)); err != nil {
			return fmt.Errorf("terraform: save .terraform: %w", err)
		}
	} else if err == nil {
		return nil // not a directory: nothing planbot keeps
	}
	if size > c.maxBytes() {
		return nil
	}
	if err := os.WriteFile(filepath.Join(tmp, entrySize), []byte(strconv.FormatInt(size, 10)), 0o600); err != nil {
		return err
	}
	if err := os.Rename(tmp, filepath.Join(c.Dir, key)); err != nil {
		return nil // another plan stored it first
	}
	c.evict()
	return nil
}

// evict removes the least recently used entries until the rest fit in
// maxBytes, and temporary directories left by a crash.
func (c *InitCache) evict() {
	c.mu.Lock()
	defer c.mu.Unlock()
	entries, err := os.ReadDir(c.Dir)
	if err != nil {
		return
	}
	type kept struct {
		path string
		size int64
		used time.Time
	}
	var all []kept
	var total int64
	for _, e := range entries {
		path := filepath.Join(c.Dir, e.Name())
		info, err := e.Info()
		if err != nil {
			continue
		}
		if strings.HasPrefix(e.Name(), "tmp-") {
			if time.Since(info.ModTime()) > time.Hour {
				os.RemoveAll(path)
			}
			continue
		}
		b, _ := os.ReadFile(filepath.Join(path, entrySize))
		size, _ := strconv.ParseInt(string(b), 10, 64)
		all = append(all, kept{path, size, info.ModTime()})
		total += size
	}
	sort.Slice(all, func(i, j int) bool { return all[i].used.Before(all[j].used) })
	for _, k := range all {
		if total <= c.maxBytes() {
			break
		}
		os.RemoveAll(k.path)
		total -= k.size
	}
}

// copyTree copies the directory src to dst, which must not exist:
// directories, regular files and symbolic links (as links, never
// followed), with their permission bits. It returns the bytes copied.
func copyTree(src, dst string) (int64, error) {
	var size int64
	err := filepath.WalkDir(src, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, path)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if rel == "." {
				return os.Mkdir(target, 0o700)
			}
			return os.Mkdir(target, info.Mode().Perm()|0o700)
		case d.Type()&fs.ModeSymlink != 0:
			link, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case d.Type().IsRegular():
			n, err := copyFile(path, target, info.Mode().Perm())
			size += n
			return err
		}
		return nil // sockets, devices: init writes none
	})
	return size, err
}

func copyFile(src, dst string, perm fs.FileMode) (int64, error) {
	in, err := os.Open(src)
	if err != nil {
		return 0, err
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm|0o600)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(out, in)
	if cerr := out.Close(); err == nil {
		err = cerr
	}
	return n, err
}

// envDigest digests the environment of a run, but for its private HOME,
// and its credentials, so that cache entries are never shared between
// credential sets: .terraform/terraform.tfstate may hold backend settings
// that came from them.
func envDigest(env, creds map[string]string) string {
	h := sha256.New()
	for _, m := range []map[string]string{env, creds} {
		keys := make([]string, 0, len(m))
		for k := range m {
			if k != "HOME" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%d:%s=%d:%s\n", len(k), k, len(m[k]), m[k])
		}
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))
}

// initCacheKey returns the InitCache key of the run's directory, "" when
// the run does not use the cache: no cache or scope, TF_DATA_DIR moved
// the data directory, the directory has a .terraform already (a re-plan
// in the same checkout, or one committed to the repository), or a module
// source is not pinned.
func (s *run) initCacheKey() string {
	r := s.r
	if r.InitCache == nil || s.scope == "" || s.dataDir {
		return ""
	}
	if _, err := os.Lstat(filepath.Join(s.dir, ".terraform")); !errors.Is(err, os.ErrNotExist) {
		return ""
	}
	bin, err := os.Stat(s.bin)
	if err != nil {
		return ""
	}
	key, err := initKey(s.root, s.dir,
		fmt.Sprintf("bin:%s:%d:%d", s.bin, bin.Size(), bin.ModTime().UnixNano()),
		"mirror:"+r.PluginCacheDir, "env:"+s.envDigest, "scope:"+s.scope)
	if err != nil {
		r.logger().Debug("terraform init not cached", "project", s.dir, "err", err)
		return ""
	}
	return key
}

// restoreInit returns the run's InitCache key ("" when it uses none) and
// whether the cached .terraform of that key is now in the run's
// directory, so that init can be skipped.
func (s *run) restoreInit() (key string, hit bool) {
	if key = s.initCacheKey(); key == "" {
		return "", false
	}
	hit, err := s.r.InitCache.restore(key, s.dir)
	if err != nil {
		s.r.logger().Warn("terraform init cache", "project", s.dir, "err", err)
		return key, false
	}
	if hit {
		s.r.logger().Debug("terraform init skipped: cached", "project", s.dir)
	}
	return key, hit
}

// lockFile returns the dependency lock file of the run's directory, nil
// when there is none.
func (s *run) lockFile() []byte {
	b, _ := os.ReadFile(filepath.Join(s.dir, ".terraform.lock.hcl"))
	return b
}

// saveInit stores what init just wrote into .terraform under key, unless
// init changed the lock file too (it writes one when there was none):
// the entry would then not stand for everything init did.
func (s *run) saveInit(key string, lockBefore []byte) {
	if !bytes.Equal(s.lockFile(), lockBefore) {
		return
	}
	if err := s.r.InitCache.save(key, s.dir); err != nil {
		s.r.logger().Warn("terraform init cache", "project", s.dir, "err", err)
	}
}
