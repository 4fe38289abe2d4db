"""Test-wide guards: no test may reach the network.

The Alibaba credential library reads its environment once, at import, so the guards
are set here, before any test module imports the SDK.
"""

import os

os.environ["ALIBABA_CLOUD_ECS_METADATA_DISABLED"] = "true"
os.environ["ALIBABA_CLOUD_CLI_PROFILE_DISABLED"] = "true"
for _name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
    os.environ.pop(_name, None)

# CI runs the property tests with a fixed seed, so a landing never hangs on a
# newly drawn example; local runs keep exploring fresh ones.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
