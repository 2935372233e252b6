from enum import StrEnum


class FaultKind(StrEnum):
    BLACKHOLE = "blackhole"
    CORRUPT = "corrupt"
    DELAY = "delay"
    DOWN = "down"
    DUPLICATE = "duplicate"
    FLAP = "flap"
    JITTER = "jitter"
    LOSS = "loss"
    PARTITION = "partition"
    RATE_LIMIT = "rate_limit"
    REORDER = "reorder"

    def __str__(self) -> str:
        return str(self.value)
