#!/usr/bin/env python3
"""Regenerate assets/licenses/templates.txt: the SPDX matching templates depdash identifies
license texts against.

The templates come from the SPDX License List data bundled (as resources/stdlicenses/*.json) in
the SPDX tools jar that the PyPI package `license-matcher` ships:

    pip download --no-deps license-matcher==2.11.1 -d /tmp/lm
    unzip -q /tmp/lm/license_matcher-*.whl spdx_license_matcher/tool.jar -d /tmp/lm
    unzip -q /tmp/lm/spdx_license_matcher/tool.jar 'resources/stdlicenses/*' -d /tmp/lm
    scripts/license-templates.py /tmp/lm/resources/stdlicenses > assets/licenses/templates.txt

Output: one record per license, `@@@ <SPDX id>` on its own line, then the template
(`<<var;...>>`, `<<beginOptional>>`/`<<endOptional>>` markup as SPDX writes it).
"""
import json
import pathlib
import sys

# Licenses common on PyPI, the "known license plus additions" family that must not be mistaken
# for their base, and the exceptions seen in Python packages. GNU ids by their -only form (the
# text is the same for -or-later; the grant comes from the notice).
IDS = """
0BSD AAL AFL-3.0 AGPL-3.0-only Apache-1.0 Apache-1.1 Apache-2.0 Artistic-1.0 Artistic-1.0-Perl
Artistic-2.0 Beerware blessing BSD-1-Clause BSD-2-Clause BSD-2-Clause-Patent BSD-3-Clause
BSD-3-Clause-Attribution BSD-3-Clause-Clear BSD-3-Clause-LBNL BSD-3-Clause-Modification
BSD-3-Clause-No-Nuclear-License BSD-3-Clause-No-Nuclear-Warranty BSD-3-Clause-No-Military-License
BSD-4-Clause BSD-4-Clause-UC BSD-Source-Code BSL-1.0 BUSL-1.1 bzip2-1.0.6 CC-BY-3.0
CC-BY-4.0 CC-BY-SA-4.0 CC-PDDC CC0-1.0 CDDL-1.0 CECILL-2.1 CNRI-Python curl ECL-2.0
Elastic-2.0 EPL-1.0 EPL-2.0 EUPL-1.1 EUPL-1.2 FTL GFDL-1.3-only GPL-1.0-only GPL-2.0-only
GPL-3.0-only HPND HPND-sell-variant ICU IJG ISC JSON LGPL-2.0-only LGPL-2.1-only LGPL-3.0-only
Libpng libpng-2.0 MirOS MIT MIT-0 MIT-advertising MIT-CMU MIT-feh MIT-Modern-Variant
MIT-open-group MPL-1.1 MPL-2.0 MS-PL MulanPSL-2.0 NCSA NTP OFL-1.1 OpenSSL OpenSSL-standalone
OSL-3.0 PHP-3.01 PostgreSQL PSF-2.0 Python-2.0 Qhull Ruby Sleepycat SSLeay-standalone SSPL-1.0
TCL Unicode-3.0 Unicode-DFS-2016 Unlicense UPL-1.0 Vim W3C WTFPL X11 Xnet Zlib
zlib-acknowledgement ZPL-2.0 ZPL-2.1
Autoconf-exception-3.0 Bootloader-exception Classpath-exception-2.0 Font-exception-2.0
GCC-exception-2.0 GCC-exception-3.1 LGPL-3.0-linking-exception LLVM-exception
OCaml-LGPL-linking-exception Qt-LGPL-exception-1.1 Universal-FOSS-exception-1.0
WxWindows-exception-3.1
""".split()


def main() -> None:
    src = pathlib.Path(sys.argv[1])
    out = sys.stdout
    for spdx_id in IDS:
        data = json.loads((src / f"{spdx_id}.json").read_text(encoding="utf-8"))
        template = data.get("standardLicenseTemplate") or data.get("licenseExceptionTemplate")
        if not template:
            sys.exit(f"{spdx_id}: no template")
        out.write(f"@@@ {spdx_id}\n{template.strip()}\n")


if __name__ == "__main__":
    main()
