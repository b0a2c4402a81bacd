// Package deb reads Debian binary packages for kiln: it streams the control
// stanza out of a .deb (ReadControl), checks that the stanza is safe to copy
// into a Packages index (Validate), keeps control-file paragraphs byte-exact
// (Stanza), and orders versions exactly as dpkg does (CompareVersions).
//
// The subpackage debtest builds .deb files in memory for tests.
package deb
