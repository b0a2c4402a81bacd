package api

import (
	"github.com/kiln-repo/kiln/api/client"
	"github.com/kiln-repo/kiln/repo"
	"github.com/kiln-repo/kiln/repo/catalog"
	"github.com/kiln-repo/kiln/storage"
)

// Conversions between the catalog's domain types and its wire types.

func wireImage(img *repo.Image) client.Image {
	out := client.Image{Name: img.Name, Version: img.Version, OS: img.OS, OSVersion: img.OSVersion, Arch: img.Arch,
		Artifacts: wireArtifacts(img.Artifacts), Base: img.Base, Packages: wireInstalled(img.Packages),
		Labels: img.Labels, Commit: img.Commit, BuildURL: img.BuildURL, Created: img.Created}
	for _, d := range img.Disks {
		out.Disks = append(out.Disks, client.Disk{Filename: d.Filename, Format: d.Format, Digest: string(d.Digest), Size: d.Size})
	}
	if img.Revoked != nil {
		out.Revoked = &client.Revocation{Reason: img.Revoked.Reason, Time: img.Revoked.Time, Source: img.Revoked.Source, By: wireActor(img.Revoked.By)}
	}
	if r := img.RevokeAt; r != nil && img.Revoked == nil {
		out.RevokeAt = &client.Revocation{Reason: r.Reason, Time: r.Time, Source: r.Source, By: wireActor(r.By)}
	}
	for _, e := range img.Revocations {
		out.Revocations = append(out.Revocations, client.RevocationEvent{Action: e.Action, Reason: e.Reason, Source: e.Source, Time: e.Time, At: e.At, By: wireActor(e.By)})
	}
	return out
}

// wireActor is a history entry's actor on the wire; nil stays nil.
func wireActor(a *repo.Actor) *client.Actor {
	if a == nil {
		return nil
	}
	w := client.Actor(*a)
	return &w
}

func wireArtifacts(as []catalog.Artifact) []client.Artifact {
	out := []client.Artifact{}
	for _, a := range as {
		out = append(out, client.Artifact{Provider: a.Provider, Region: a.Region, ID: a.ID})
	}
	return out
}

func wireInstalled(ps []catalog.Package) []client.InstalledPackage {
	var out []client.InstalledPackage
	for _, p := range ps {
		out = append(out, client.InstalledPackage{Name: p.Name, Version: p.Version, Architecture: p.Architecture, Debs: p.Debs})
	}
	return out
}

func domainInstalled(ps []client.InstalledPackage) []catalog.Package {
	var out []catalog.Package
	for _, p := range ps {
		out = append(out, catalog.Package{Name: p.Name, Version: p.Version, Architecture: p.Architecture})
	}
	return out
}

// domainImage builds the image to push: the manifest's artifacts plus any
// given one by one, the dpkg list's packages or those given one by one.
func domainImage(req client.ImagePushRequest) (repo.Image, error) {
	img := repo.Image{Name: req.Name, Version: req.Version, OS: req.OS, OSVersion: req.OSVersion, Arch: req.Arch,
		Base: req.Base, Labels: req.Labels, Commit: req.Commit, BuildURL: req.BuildURL}
	if req.PackerManifest != "" {
		arts, err := catalog.ParsePackerManifest([]byte(req.PackerManifest))
		if err != nil {
			return img, err
		}
		img.Artifacts = arts
	}
	for _, a := range req.Artifacts {
		img.Artifacts = append(img.Artifacts, catalog.Artifact{Provider: a.Provider, Region: a.Region, ID: a.ID})
	}
	pkgs, err := packageSet(req.DpkgList, req.Packages)
	if err != nil {
		return img, err
	}
	img.Packages = pkgs
	for _, d := range req.Disks {
		img.Disks = append(img.Disks, repo.Disk{Filename: d.Filename, Format: d.Format, Digest: storage.Digest(d.Digest), Size: d.Size})
	}
	return img, nil
}

// packageSet reads a dpkg-query list or takes a list of packages; both at
// once is a mistake.
func packageSet(dpkgList string, pkgs []client.InstalledPackage) ([]catalog.Package, error) {
	if dpkgList != "" && len(pkgs) > 0 {
		return nil, badRequest("give packages as dpkg_list or as packages, not both")
	}
	if dpkgList != "" {
		return catalog.ParseDpkgList([]byte(dpkgList))
	}
	return domainInstalled(pkgs), nil
}

func wireChannel(ch *repo.Channel) client.Channel {
	out := client.Channel{Image: ch.Image, Name: ch.Name, Version: ch.Version, Updated: ch.Updated, History: []client.ChannelMove{}}
	for _, m := range ch.History {
		out.History = append(out.History, client.ChannelMove{Version: m.Version, Previous: m.Previous, Time: m.Time, Note: m.Note, By: wireActor(m.By)})
	}
	return out
}

func wireGroup(g *repo.GroupInfo) client.Group {
	a := g.Artifact
	out := client.Group{Name: g.Name, App: g.App, Stack: g.Stack, Detail: g.Detail, Sequence: g.Sequence, Cluster: g.Cluster,
		Artifact: client.GroupArtifact{Kind: a.Kind, Image: a.Image, ImageID: a.ImageID, OCI: a.OCI, Digest: string(a.Digest),
			Packages: wireInstalled(a.Packages)},
		Region: g.Region, Account: g.Account, DeployedBy: g.DeployedBy, Created: g.Created, State: g.State, Updated: g.Updated}
	for _, ev := range g.Events {
		out.Events = append(out.Events, client.GroupEvent{State: ev.State, Time: ev.Time, Note: ev.Note, By: wireActor(ev.By)})
	}
	return out
}

func wireDiff(from, to string, d catalog.Diff) client.PackageDiff {
	out := client.PackageDiff{From: from, To: to, Added: nonNilInstalled(wireInstalled(d.Added)),
		Removed: nonNilInstalled(wireInstalled(d.Removed)), Changed: wireChanges(d.Changed)}
	return out
}

func wireChanges(cs []catalog.Change) []client.PackageChange {
	out := []client.PackageChange{}
	for _, c := range cs {
		out = append(out, client.PackageChange{Name: c.Name, Architecture: c.Architecture, From: c.From, To: c.To})
	}
	return out
}

func nonNilInstalled(ps []client.InstalledPackage) []client.InstalledPackage {
	if ps == nil {
		return []client.InstalledPackage{}
	}
	return ps
}
