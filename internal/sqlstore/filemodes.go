package sqlstore

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
)

// Modes of the embedded database's directory and files: only the server's
// user may read them, whatever the umask.
const (
	dirMode  fs.FileMode = 0o700
	fileMode fs.FileMode = 0o600
)

// secureFiles makes the data directory that holds the database at path
// (creating it) 0700, unless dataDir is false, creates the database file 0600 if it is missing, and
// tightens to 0600 every file of the database already there: the file,
// its -wal and -shm, and the journal of reads, all named after it. Other
// files in the directory are not the server's and are left alone.
//
// SQLite creates -wal and -shm with the database file's mode, so once the
// file is 0600 so are they. A directory or file others could read, or that
// another user owns, is logged as a warning before it is tightened: its
// contents may have been read already.
func secureFiles(path string, dataDir bool, log *slog.Logger) error {
	dir := filepath.Dir(path)
	if dataDir {
		if err := os.MkdirAll(dir, dirMode); err != nil {
			return fmt.Errorf("sqlstore: create data directory: %w", err)
		}
		if err := tighten(dir, dirMode, log); err != nil {
			return err
		}
	}
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, fileMode)
	if err == nil {
		err = f.Close()
	} else if errors.Is(err, fs.ErrExist) {
		err = nil
	}
	if err != nil {
		return fmt.Errorf("sqlstore: create database file: %w", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		return fmt.Errorf("sqlstore: data files: %w", err)
	}
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), filepath.Base(path)) {
			continue
		}
		if err := tighten(filepath.Join(dir, e.Name()), fileMode, log); err != nil {
			return err
		}
	}
	return nil
}

// tighten sets name's permissions to mode, warning first when they let
// others than its owner in or when another user owns it.
func tighten(name string, mode fs.FileMode, log *slog.Logger) error {
	info, err := os.Lstat(name)
	if err != nil {
		return fmt.Errorf("sqlstore: data files: %w", err)
	}
	if info.Mode()&fs.ModeSymlink != 0 {
		log.Warn("a data file is a symbolic link: its target's permissions are its own to keep", "path", name)
		return nil
	}
	if st, ok := info.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Getuid() {
		if os.Getuid() == 0 {
			// An operator's command run as root on the service user's
			// data: nothing is exposed, but what it creates is root's.
			log.Warn("parley runs as root on another user's data file: run it as that user (runuser -u), or files it creates may be root's, which that user cannot open",
				"path", name, "owner_uid", st.Uid)
		} else {
			log.Warn("a data file belongs to another user, who can read it", "path", name, "owner_uid", st.Uid, "server_uid", os.Getuid())
		}
	}
	perm := info.Mode().Perm()
	if perm&0o077 != 0 {
		log.Warn("a data file was open to other users; made private", "path", name, "mode", fmt.Sprintf("%#o", perm), "now", fmt.Sprintf("%#o", mode))
	}
	if perm == mode {
		return nil
	}
	if err := os.Chmod(name, mode); err != nil {
		return fmt.Errorf("sqlstore: make %s private: %w", name, err)
	}
	return nil
}
