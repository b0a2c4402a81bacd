package repo

import (
	"bufio"
	"fmt"
	"os"
	"strings"

	bolt "go.etcd.io/bbolt"
	"golang.org/x/sys/unix"
)

// unmapPages drops the database's pages from the process's mapping
// (madvise MADV_DONTNEED on a shared file mapping: the data stays in the
// page cache and comes back on the next read, as a minor fault). bbolt
// rebuilds its freelist at open by visiting every page, which would
// otherwise leave the whole file counted in the server's resident memory
// for as long as it runs: at 50,000 packages 80 MB that nothing reads
// again. Call it only before the database is shared: bbolt remaps the file
// as it grows, and the range must be bbolt's mapping exactly. It does
// nothing unless /proc/self/maps names the mapping.
func unmapPages(db *bolt.DB) {
	start := uintptr(db.Info().Data)
	end, ok := mappingEnd(start)
	if !ok {
		return
	}
	unix.Syscall(unix.SYS_MADVISE, start, end-start, unix.MADV_DONTNEED)
}

// mappingEnd returns the end of the mapping that starts at start.
func mappingEnd(start uintptr) (uintptr, bool) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return 0, false
	}
	defer f.Close()
	prefix := fmt.Sprintf("%x-", start)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rng, _, _ := strings.Cut(sc.Text(), " ")
		if !strings.HasPrefix(rng, prefix) {
			continue
		}
		var lo, hi uintptr
		if _, err := fmt.Sscanf(rng, "%x-%x", &lo, &hi); err != nil || lo != start || hi <= lo {
			return 0, false
		}
		return hi, true
	}
	return 0, false
}
