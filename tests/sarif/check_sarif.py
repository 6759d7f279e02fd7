#!/usr/bin/env python3
"""CTest sarif_schema: `loopscope report --format=sarif` validates against the published SARIF 2.1.0
schema and has what GitHub code scanning needs; `--format=junit` is well-formed XML.

usage: check_sarif.py LOOPSCOPE SCHEMA WORKDIR SOURCE_ROOT PROG...
Each PROG is run under `loopscope run`; their reports are rendered together. Exit 77 (CTest's skip)
when python3 has no jsonschema module (Debian: python3-jsonschema)."""
import json
import os
import shutil
import subprocess
import sys
import xml.dom.minidom

try:
    import jsonschema
except ImportError:
    print("python3 jsonschema is not installed (Debian: python3-jsonschema): skipped")
    sys.exit(77)


def fail(msg):
    print("FAIL: " + msg)
    sys.exit(1)


def main():
    loopscope, schema_path, work, source_root, progs = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:]
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    env = {k: v for k, v in os.environ.items() if k not in ("LD_PRELOAD", "LOOPSCOPE_OPTIONS")}
    for prog in progs:
        r = subprocess.run([loopscope, "run", "-o", os.path.join(work, "r.%p.%s.lsr"), "--", prog],
                           cwd=work, env=env, capture_output=True, text=True, timeout=120)
        if r.returncode != 0:
            fail("%s exited %d under loopscope run:\n%s" % (prog, r.returncode, r.stderr))

    def report(*args):
        r = subprocess.run([loopscope, "report", *args, work], cwd=work, env=env, capture_output=True, text=True,
                           timeout=120)
        if r.returncode != 0:
            fail("loopscope report %s exited %d:\n%s" % (" ".join(args), r.returncode, r.stderr))
        return r.stdout

    with open(schema_path) as f:
        schema = json.load(f)
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator = cls(schema, format_checker=jsonschema.FormatChecker())
    for args in (["--format=sarif", "--source-root=" + source_root], ["--format=sarif"]):
        text = report(*args)
        doc = json.loads(text)
        errors = sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path))
        if errors:
            for e in errors[:20]:
                print("%s: %s" % ("/".join(map(str, e.absolute_path)), e.message))
            fail("%d schema errors in the SARIF of %s" % (len(errors), " ".join(args)))
        # What GitHub code scanning relies on beyond the schema.
        if doc.get("version") != "2.1.0" or len(doc["runs"]) != 1:
            fail("not one SARIF 2.1.0 run")
        run = doc["runs"][0]
        rules = [r["id"] for r in run["tool"]["driver"]["rules"]]
        for r in run["tool"]["driver"]["rules"]:
            if not r["shortDescription"]["text"] or r["defaultConfiguration"]["level"] not in ("error", "warning"):
                fail("rule %s lacks a description or a level" % r["id"])
        if not run["results"]:
            fail("no results for %s" % " ".join(progs))
        for res in run["results"]:
            if res["ruleId"] not in rules or rules[res["ruleIndex"]] != res["ruleId"]:
                fail("result with ruleId %s / ruleIndex %s not among the rules" % (res["ruleId"], res.get("ruleIndex")))
            if not res["message"]["text"] or not res["partialFingerprints"].get("loopscope/v1"):
                fail("result without a message or a fingerprint: %s" % res)
            loc = res["locations"][0]["physicalLocation"]
            uri = loc["artifactLocation"]["uri"]
            if "--format=sarif" in args and len(args) == 2:
                if uri.startswith("file:") or uri.startswith("/") or ".." in uri.split("/"):
                    fail("with --source-root the URI %s is not repository-relative" % uri)
                if not os.path.exists(os.path.join(source_root, uri)):
                    fail("%s is not a file under %s" % (uri, source_root))
            elif not uri.startswith("file:///"):
                fail("without --source-root the URI %s is not an absolute file:// URI" % uri)
            if loc["region"]["startLine"] < 1:
                fail("no line for %s" % res["ruleId"])
        print("SARIF (%s): %d results, valid against %s" % (" ".join(args), len(run["results"]), schema.get("id")))

    junit = report("--format=junit")
    dom = xml.dom.minidom.parseString(junit.encode())
    cases = dom.getElementsByTagName("testcase")
    if dom.documentElement.tagName != "testsuite" or len(cases) < len(progs):
        fail("JUnit: expected one testsuite with a testcase per process:\n" + junit)
    if not dom.getElementsByTagName("failure"):
        fail("JUnit: no failure elements:\n" + junit)
    if shutil.which("xmllint"):
        r = subprocess.run(["xmllint", "--noout", "-"], input=junit, capture_output=True, text=True)
        if r.returncode != 0:
            fail("xmllint: " + r.stderr)
    print("JUnit: %d testcases, %d failures, well-formed" % (len(cases), len(dom.getElementsByTagName("failure"))))


main()
