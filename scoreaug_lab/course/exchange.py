"""nbgrader's exchange with one hole closed: its collect only *warns* when a submission in the shared inbound folder
claims another student's name (`alice+a1+<time>+<random>` written by bob), and then grades it as alice's. Here such
a submission is set aside (renamed `.forged-...`, which nbgrader's pattern never matches) and reported before
nbgrader's own collect runs. The course's nbgrader_config.py selects it (c.ExchangeFactory.collect)."""
from __future__ import annotations

import os
import pwd
from pathlib import Path

from nbgrader.exchange.default.collect import ExchangeCollect


def owner_name(path) -> str:
    try:
        return pwd.getpwuid(os.lstat(path).st_uid).pw_name
    except KeyError:
        return f"uid {os.lstat(path).st_uid}"


def forged_submissions(inbound) -> list[Path]:
    """The submissions in `inbound` whose name's student is not the Unix user who wrote them."""
    return [entry for entry in sorted(Path(inbound).glob("*+*")) if entry.name.rsplit("+", 3)[0] != owner_name(entry)]


class OwnerCheckedCollect(ExchangeCollect):
    """nbgrader's collect, after setting aside submissions written under another student's name."""

    def init_src(self):
        inbound = Path(self.root) / self.coursedir.course_id / "inbound"
        if inbound.is_dir() and os.access(inbound, os.R_OK | os.X_OK):
            for entry in forged_submissions(inbound):
                self.log.error("%s claims to be by %s but was written by %s: set aside as .forged-%s, not graded",
                               entry.name, entry.name.rsplit("+", 3)[0], owner_name(entry), entry.name)
                entry.rename(entry.with_name(f".forged-{entry.name}"))
        super().init_src()


__all__ = ["OwnerCheckedCollect", "forged_submissions", "owner_name"]
