#!/usr/bin/env python3
"""Copy the browser assets the folium maps use from npm into static/vendor/.

Government intranets reach no CDN, so the dashboard serves Leaflet, jQuery, Bootstrap,
Font Awesome, the awesome-markers, marker clusters, topojson and the fullscreen control
itself (Streamlit's static serving: ./static/ is served at /app/static/). The files are
committed; node is needed only to refresh them, never at run time.

    python scripts/vendor_assets.py              # npm ci in a temporary directory, then copy
    python scripts/vendor_assets.py --node-modules PATH   # reuse an installed node_modules
    python scripts/vendor_assets.py --check      # exit 1 if static/vendor would change

The versions are pinned in package.json / package-lock.json at the repository root and
follow the URLs folium references. Only the needed dist files are copied (minified
builds), plus every file a copied stylesheet refers to with url(): images, and of the
fonts only the woff2 files (every supported browser takes the woff2 entry of a
@font-face src list, so the .ttf/.eot/.svg fallbacks are never requested). Each
package's licence file goes along. static/vendor/MANIFEST.json records, per package,
version, licence, the files, the omitted fallbacks and the CDN URLs it replaces.

Two files are generated rather than copied, because no npm package ships them:
- bootstrap3-glyphicons/css/bootstrap-glyphicons.css: the Glyphicons rules of
  Bootstrap 3.4.1's bootstrap.css (folium links bootstrap 3.0.0's separate
  bootstrap-glyphicons.css for the awesome-markers' default "glyphicon" prefix);
- folium/leaflet.awesome.rotate.min.css: .fa-rotate-1 ... .fa-rotate-360, as folium's
  templates/leaflet.awesome.rotate.css (used by folium.Icon(angle=...)).
"""

from __future__ import annotations

import argparse
import filecmp
import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path, PurePosixPath

REPO = Path(__file__).resolve().parent.parent
VENDOR_DIR = REPO / "static" / "vendor"
FONT_FALLBACK_SUFFIXES = (".eot", ".ttf", ".otf", ".woff", ".svg")


@dataclass(frozen=True)
class Package:
    npm: str  # key under node_modules/ (an alias for bootstrap 3)
    dest: str  # directory under static/vendor/
    root: str  # the package's directory that maps to static/vendor/<dest>/
    files: tuple[str, ...]  # relative to root
    licenses: tuple[str, ...]  # relative to the package directory, copied to <dest>/
    license: str | None = None  # overrides package.json's licence field
    note: str | None = None
    generated: dict[str, str] = field(default_factory=dict)  # <dest>-relative path -> generator


PACKAGES: tuple[Package, ...] = (
    Package(
        "leaflet",
        "leaflet",
        "dist",
        # L.Icon.Default finds images/ through leaflet.css, but names these two in JS
        ("leaflet.js", "leaflet.css", "images/marker-icon-2x.png", "images/marker-shadow.png"),
        ("LICENSE",),
    ),
    Package("jquery", "jquery", "dist", ("jquery.min.js",), ("LICENSE.txt",)),
    Package(
        "bootstrap",
        "bootstrap",
        "dist",
        ("js/bootstrap.bundle.min.js", "css/bootstrap.min.css"),
        ("LICENSE",),
    ),
    Package(
        "bootstrap3",
        "bootstrap3-glyphicons",
        "dist",
        (),
        ("LICENSE",),
        note="Only the Glyphicons rules of dist/css/bootstrap.css (generated) and the "
        "woff2 font; replaces netdna's bootstrap 3.0.0 bootstrap-glyphicons.css.",
        generated={"css/bootstrap-glyphicons.css": "glyphicons"},
    ),
    Package(
        "@fortawesome/fontawesome-free",
        "fontawesome-free",
        "",
        ("css/all.min.css",),
        ("LICENSE.txt",),
    ),
    Package(
        "leaflet.awesome-markers",
        "leaflet.awesome-markers",
        "dist",
        ("leaflet.awesome-markers.min.js", "leaflet.awesome-markers.css"),
        ("LICENSE",),
        license="MIT",
        note="folium links cdnjs 2.0.2, which is not on npm with its JS; 2.0.5 is the same "
        "plugin (L.AwesomeMarkers.version '2.0.1' in both) plus a square marker variant. "
        "package.json says ISC, the LICENSE file is the MIT text.",
    ),
    Package(
        "leaflet.markercluster",
        "leaflet.markercluster",
        "dist",
        ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
        ("MIT-LICENCE.txt",),
    ),
    Package(
        "topojson-client",
        "topojson-client",
        "dist",
        ("topojson-client.min.js",),
        ("LICENSE",),
        note="folium links topojson 1.6.9 (the old all-in-one package, whose npm release "
        "pulls d3 3 and a node toolchain); topojson-client 3 is its browser half and "
        "defines the same global topojson.feature() folium's TopoJson calls.",
    ),
    Package(
        "leaflet.featuregroup.subgroup",
        "leaflet.featuregroup.subgroup",
        "dist",
        ("leaflet.featuregroup.subgroup.js",),
        ("LICENSE",),
        note="folium.plugins.FeatureGroupSubGroup: one marker cluster shared by the "
        "facility types, each type still a layer of its own in the layer control.",
    ),
    Package(
        "leaflet.fullscreen",
        "leaflet.fullscreen",
        "",
        ("Control.FullScreen.js", "Control.FullScreen.css"),
        ("LICENSE",),
        note="The package ships no .min.js; jsDelivr minifies on the fly for folium's URL.",
    ),
)

# folium's own stylesheet: not on npm; generated, licence taken from the installed folium.
FOLIUM_DEST = "folium"
FOLIUM_ROTATE = "leaflet.awesome.rotate.min.css"


# ---------------------------------------------------------------------------- generators


def glyphicons_css(bootstrap_css: str) -> str:
    """The @font-face and .glyphicon rules of Bootstrap 3's bootstrap.css, woff2 only."""
    header = re.match(r"/\*!.*?\*/", bootstrap_css, re.DOTALL)
    start = bootstrap_css.index("@font-face")
    rules = []
    for m in re.finditer(r"\s*([^{}]+?)\s*\{([^{}]*)\}", bootstrap_css[start:]):
        selector, body = m.group(1).strip(), m.group(2)
        if selector == "@font-face":
            if "Glyphicons Halflings" not in body:
                raise SystemExit("bootstrap.css: unexpected @font-face before the glyphicons")
            body = (
                'font-family:"Glyphicons Halflings";'
                'src:url("../fonts/glyphicons-halflings-regular.woff2") format("woff2")'
            )
        elif not all(s.strip().startswith(".glyphicon") for s in selector.split(",")):
            break
        decls = (d.strip() for d in body.strip().rstrip(";").split(";\n"))
        body = ";".join(re.sub(r"\s*:\s*", ":", d, count=1) for d in decls)
        rules.append(f"{','.join(s.strip() for s in selector.split(','))}{{{body}}}")
    if len(rules) < 200:
        raise SystemExit(f"bootstrap.css: only {len(rules)} glyphicon rules found")
    return (
        (header.group(0) if header else "")
        + "\n/* Glyphicons rules extracted by scripts/vendor_assets.py; woff2 only. */\n"
        + "\n".join(rules)
        + "\n"
    )


def rotate_css() -> str:
    lines = [
        (
            "/* folium/templates/leaflet.awesome.rotate.css (MIT, python-visualization/folium),"
            " regenerated by scripts/vendor_assets.py */"
        )
    ]
    lines += [
        f".fa-rotate-{d}{{-webkit-transform:rotate({d}deg);transform:rotate({d}deg)}}"
        for d in range(1, 361)
    ]
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------------------- copying

URL_RE = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")
SRC_RE = re.compile(r"\bsrc\s*:\s*([^;}]+)")


def css_references(css: str) -> tuple[list[str], list[str]]:
    """(needed, omitted) relative references of a stylesheet, query/fragment stripped.

    A font of an @font-face src list that also lists a woff2 is an omitted fallback.
    """
    omitted: set[str] = set()
    for src in SRC_RE.findall(css):
        urls = [u for _, u in URL_RE.findall(src)]
        if any(_strip(u).endswith(".woff2") for u in urls):
            omitted |= {_strip(u) for u in urls if not _strip(u).endswith(".woff2")}
    needed = []
    for _, ref in URL_RE.findall(css):
        ref = ref.strip()
        if ref.startswith(("data:", "#", "http:", "https:", "//")):
            continue
        ref = _strip(ref)
        if ref not in omitted and ref not in needed:
            needed.append(ref)
    bad = [r for r in omitted if not r.endswith(FONT_FALLBACK_SUFFIXES)]
    if bad:
        raise SystemExit(f"unexpected @font-face fallbacks: {bad}")
    return needed, sorted(omitted)


def _strip(ref: str) -> str:
    return re.split(r"[?#]", ref, maxsplit=1)[0]


def _resolve(base: PurePosixPath, ref: str) -> PurePosixPath:
    parts: list[str] = []
    for part in (base.parent / ref).parts:
        if part == "..":
            if not parts:
                raise SystemExit(f"{ref} (from {base}) leaves the package root")
            parts.pop()
        elif part != ".":
            parts.append(part)
    return PurePosixPath(*parts)


def vendor_package(pkg: Package, node_modules: Path, out: Path) -> dict:
    pkg_dir = node_modules / pkg.npm
    meta = json.loads((pkg_dir / "package.json").read_text(encoding="utf-8"))
    root = pkg_dir / pkg.root if pkg.root else pkg_dir
    dest = out / pkg.dest
    files: list[PurePosixPath] = []
    omitted: list[str] = []
    queue = [PurePosixPath(f) for f in pkg.files]

    def add(rel: PurePosixPath, data: bytes) -> None:
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        files.append(rel)
        if rel.suffix == ".css":
            needed, fallbacks = css_references(data.decode("utf-8"))
            queue.extend(_resolve(rel, r) for r in needed)
            omitted.extend(str(_resolve(rel, r)) for r in fallbacks)

    for rel, generator in pkg.generated.items():
        if generator == "glyphicons":
            text = glyphicons_css((root / "css" / "bootstrap.css").read_text(encoding="utf-8"))
        else:  # pragma: no cover
            raise SystemExit(f"unknown generator {generator}")
        add(PurePosixPath(rel), text.encode("utf-8"))
    while queue:
        rel = queue.pop(0)
        if rel in files:
            continue
        source = root / rel
        if not source.is_file():
            raise SystemExit(f"{pkg.npm}: {pkg.root}/{rel} not found")
        add(rel, source.read_bytes())

    licence_files = []
    for name in pkg.licenses:
        shutil.copyfile(pkg_dir / name, dest / name)
        licence_files.append(f"{pkg.dest}/{name}")
    return {
        "package": meta["name"],
        "version": meta["version"],
        "license": pkg.license or meta.get("license") or "see licence file",
        "source": f"npm:{meta['name']}@{meta['version']}",
        "dir": pkg.dest,
        "license_files": licence_files,
        "files": sorted(f"{pkg.dest}/{f}" for f in files),
        "generated": sorted(f"{pkg.dest}/{f}" for f in pkg.generated),
        "omitted_references": sorted({f"{pkg.dest}/{f}" for f in omitted}),
        **({"note": pkg.note} if pkg.note else {}),
    }


def vendor_folium(out: Path) -> dict:
    dist = metadata.distribution("folium")
    licence = next(
        (f for f in dist.files or () if f.name.upper().startswith(("LICENSE", "LICENCE"))), None
    )
    if licence is None:
        raise SystemExit("the installed folium has no licence file")
    dest = out / FOLIUM_DEST
    dest.mkdir(parents=True)
    (dest / FOLIUM_ROTATE).write_text(rotate_css(), encoding="utf-8")
    shutil.copyfile(dist.locate_file(licence), dest / "LICENSE.txt")
    return {
        "package": "folium",
        "version": dist.version,
        "license": "MIT",
        "source": f"pypi:folium@{dist.version} (regenerated, not in the wheel)",
        "dir": FOLIUM_DEST,
        "license_files": [f"{FOLIUM_DEST}/LICENSE.txt"],
        "files": [f"{FOLIUM_DEST}/{FOLIUM_ROTATE}"],
        "generated": [f"{FOLIUM_DEST}/{FOLIUM_ROTATE}"],
        "omitted_references": [],
    }


def build(node_modules: Path, out: Path) -> dict:
    sys.path.insert(0, str(REPO))
    from layers.assets import CDN_TO_VENDOR  # the runtime's table: CDN URL -> vendored file

    packages = [vendor_package(p, node_modules, out) for p in PACKAGES]
    packages.append(vendor_folium(out))
    by_dir = {p["dir"]: p for p in packages}
    vendored = {f for p in packages for f in p["files"]}
    missing = {url: rel for url, rel in CDN_TO_VENDOR.items() if rel not in vendored}
    if missing:
        raise SystemExit(
            "layers/assets.py maps CDN URLs to files this script does not vendor:\n"
            + "\n".join(f"  {u} -> {r}" for u, r in missing.items())
        )
    for url, rel in sorted(CDN_TO_VENDOR.items()):
        by_dir[rel.split("/", 1)[0]].setdefault("replaces", {})[url] = rel
    for p in packages:
        p["bytes"] = sum((out / f).stat().st_size for f in p["files"] + p["license_files"])
    manifest = {
        "about": "Browser assets of the folium maps, served from /app/static/vendor/. "
        "Written by scripts/vendor_assets.py from package.json/package-lock.json; "
        "do not edit by hand.",
        "total_bytes": sum(p["bytes"] for p in packages),
        "packages": packages,
        "sha256": {
            str(f.relative_to(out).as_posix()): hashlib.sha256(f.read_bytes()).hexdigest()
            for f in sorted(out.rglob("*"))
            if f.is_file()
        },
    }
    (out / "MANIFEST.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return manifest


def npm_ci(workdir: Path) -> Path:
    for name in ("package.json", "package-lock.json"):
        shutil.copyfile(REPO / name, workdir / name)
    npm = shutil.which("npm")
    if npm is None:
        raise SystemExit("npm not found: install Node.js, or pass --node-modules")
    subprocess.run(
        [npm, "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=workdir, check=True
    )
    return workdir / "node_modules"


def same_tree(a: Path, b: Path) -> bool:
    fa = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    fb = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return fa == fb and all(filecmp.cmp(a / f, b / f, shallow=False) for f in fa)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--node-modules", type=Path, help="use this node_modules, skip npm ci")
    parser.add_argument("--out", type=Path, default=VENDOR_DIR)
    parser.add_argument(
        "--check", action="store_true", help="only compare with --out; exit 1 on a difference"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="geoapp-vendor-") as tmp:
        tmp = Path(tmp)
        node_modules = args.node_modules or npm_ci(tmp)
        staging = tmp / "vendor"
        staging.mkdir()
        manifest = build(node_modules.resolve(), staging)
        if args.check:
            if args.out.is_dir() and same_tree(staging, args.out):
                print(f"{args.out} is up to date")
                return 0
            print(f"{args.out} differs from a fresh build: run scripts/vendor_assets.py")
            return 1
        if args.out.exists():
            shutil.rmtree(args.out)
        shutil.copytree(staging, args.out)

    for p in manifest["packages"]:
        print(f"{p['package']:32} {p['version']:8} {p['bytes'] / 1024:8.1f} KB  {p['license']}")
    print(f"{'total':41} {manifest['total_bytes'] / 1024:8.1f} KB -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
