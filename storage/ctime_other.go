//go:build !linux

package storage

import (
	"os"
	"time"
)

// changeTime is unknown off Linux; PutTime is then the modification time,
// and a blob put again during a collection is protected only by the
// collector's pins and links (see repo/gc).
func changeTime(os.FileInfo) (time.Time, bool) { return time.Time{}, false }
