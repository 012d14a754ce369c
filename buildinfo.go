package main

import (
	"fmt"
	"regexp"
	"runtime/debug"
	"strings"

	"github.com/prometheus/common/version"
)

// A plain `go build` or `go install` sets no -ldflags, so prometheus/common's
// version would be empty on --version, the landing page and build_info; the
// module's build information knows the version, revision and commit time.
func init() {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return
	}
	v := fromBuildInfo(info, buildVersion{Version: version.Version, Revision: version.Revision, BuildDate: version.BuildDate})
	version.Version, version.Revision, version.BuildDate = v.Version, v.Revision, v.BuildDate
}

// buildVersion is what the version metric and --version show.
type buildVersion struct{ Version, Revision, BuildDate string }

// pseudoRevision is the commit at the end of a Go pseudo-version such as
// v0.0.0-20261126052721-6523c1c6080f, which is all `go install …@<commit>`
// from the module proxy records of the commit.
var pseudoRevision = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+-(?:.*\.)?[0-9]{14}-([0-9a-f]{12})(?:\+.*)?$`)

// fromBuildInfo fills what -ldflags left empty from the build information:
// the module version (a tag, a pseudo-version, or "devel" when Go recorded
// none), the VCS revision (or the pseudo-version's) and the commit time.
// What -ldflags set, as the Dockerfile does, wins.
func fromBuildInfo(info *debug.BuildInfo, set buildVersion) buildVersion {
	settings := map[string]string{}
	for _, s := range info.Settings {
		settings[s.Key] = s.Value
	}
	v := set
	if v.Version == "" {
		v.Version = info.Main.Version
		if v.Version == "" || v.Version == "(devel)" {
			v.Version = "devel"
		}
	}
	if v.Revision == "" {
		if rev := settings["vcs.revision"]; rev != "" {
			v.Revision = rev
			if settings["vcs.modified"] == "true" {
				v.Revision += "-modified"
			}
		} else if m := pseudoRevision.FindStringSubmatch(info.Main.Version); m != nil {
			v.Revision = m[1]
		}
	}
	if v.BuildDate == "" {
		v.BuildDate = settings["vcs.time"]
	}
	return v
}

// versionFields are the facts --version prints, as prometheus/common's
// version package holds them.
type versionFields struct {
	Version, Branch, Revision, BuildUser, BuildDate, GoVersion, Platform, Tags string
}

// currentVersion is this binary's versionFields.
func currentVersion() versionFields {
	return versionFields{
		Version: version.Version, Branch: version.Branch, Revision: version.GetRevision(),
		BuildUser: version.BuildUser, BuildDate: version.BuildDate,
		GoVersion: version.GoVersion, Platform: version.GoOS + "/" + version.GoArch, Tags: version.GetTags(),
	}
}

// versionText is --version: prometheus/common's layout, without the fields
// the build left unknown, so that a build without VCS stamping or -ldflags
// prints no empty "branch: ," or "build user:".
func versionText(program string, v versionFields) string {
	known := func(s string) bool { return s != "" && s != "unknown" }
	var b strings.Builder
	b.WriteString(program + ", version " + v.Version)
	var ctx []string
	for _, f := range []struct{ name, value string }{{"branch", v.Branch}, {"revision", v.Revision}} {
		if known(f.value) {
			ctx = append(ctx, f.name+": "+f.value)
		}
	}
	if len(ctx) > 0 {
		b.WriteString(" (" + strings.Join(ctx, ", ") + ")")
	}
	for _, f := range []struct{ name, value string }{
		{"build user", v.BuildUser}, {"build date", v.BuildDate}, {"go version", v.GoVersion},
		{"platform", v.Platform}, {"tags", v.Tags},
	} {
		if known(f.value) {
			fmt.Fprintf(&b, "\n  %-17s %s", f.name+":", f.value)
		}
	}
	return b.String()
}
