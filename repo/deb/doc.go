// Package deb reads Debian binary packages for kiln: it streams the control
// stanza out of a .deb (ReadControl), checks that the stanza is safe to
// copy into a Packages index (Validate), checks that the whole archive is
// there as it streams into storage (CheckArchive), keeps control-file
// paragraphs byte-exact (Stanza), and orders versions exactly as dpkg does
// (CompareVersions).
//
// Uploads come from any holder of a write token, so reading never trusts
// the file: every malformed input gives an *InvalidPackageError with a
// one-line reason, and the work one file can cause is bounded. The control
// member may be at most 64 MiB, compressed and decompressed; the control
// file at most 1 MiB and 1,000 fields; an xz control member's blocks may
// ask for at most 16 MiB of dictionaries in all, once each is shrunk to
// what the block decompresses to; a zstd window may be at most 16 MiB.
// Limits far above what real packages need. A Reader also bounds the
// memory that its concurrent reads spend decompressing (DefaultMemory,
// 128 MiB, in kiln serve), so that many small uploads that each declare a
// large window cannot add up.
//
// Choices stricter than dpkg, because kiln copies stanzas into indexes
// verbatim: a line holding only spaces and tabs ends a paragraph (apt's
// parser treats it so), so it cannot sit inside a field; comment lines
// and a blank line before the first field are refused; CR, NUL and other
// control characters are refused; a version must meet policy's syntax,
// where dpkg only warns.
//
// The subpackage debtest builds .deb files in memory for tests.
package deb
