package fsutil

import "os"

// DirExists reports whether p is a directory, following symlinks.
func DirExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.IsDir()
}

// FileExists reports whether p is a regular file, following symlinks.
func FileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
