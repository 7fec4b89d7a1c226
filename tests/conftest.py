"""Shared test configuration: hypothesis profiles.

Under CI (the ``CI`` environment variable, which ``.ci/run`` has) the
property tests draw the same examples on every run and skip hypothesis's
slow "explain" phase, so a run's outcome and time do not depend on luck.
Locally they draw new examples each time, to find new faults.
"""

import os

from hypothesis import Phase, settings

settings.register_profile(
    "ci",
    derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
settings.register_profile(
    "dev",
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.shrink],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")
