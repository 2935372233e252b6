from enum import StrEnum


class Distribution(StrEnum):
    NORMAL = "normal"
    PARETO = "pareto"
    PARETONORMAL = "paretonormal"
    UNIFORM = "uniform"

    def __str__(self) -> str:
        return str(self.value)
