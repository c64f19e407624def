"""embbench: benchmark text-embedding encoders on Russian tasks with mteb's ruMTEB protocols."""

__version__ = "0.1.0"
