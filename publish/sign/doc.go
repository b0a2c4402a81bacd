// Package sign holds the OpenPGP keys that sign published apt repositories.
//
// Everything happens in-process with ProtonMail/go-crypto: kiln never runs
// gpg. A Key makes the two signatures apt looks for next to a Release file —
// InRelease (ClearSign) and Release.gpg (DetachSign) — always over SHA-512,
// because apt refuses SHA-1. New keys are Ed25519 (see Generate). Private
// keys are kept at rest sealed with a server secret (see Seal).
package sign
