"""Parquet tables: the Deportation Data Project's cleaned releases (snake_case columns,
plus file_original / sheet_original / row_original provenance of their own)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from icetally.sources.base import SOURCE_ROW, FormatError, Part
from icetally.sources.headers import detect_dataset, map_headers

if TYPE_CHECKING:
    import pyarrow as pa

BATCH_ROWS = 65_536


class ParquetTable:
    name = "ddp_clean_parquet"

    def sniff(self, path: Path, head: bytes) -> bool:
        return head[:4] == b"PAR1"

    def read(self, path: Path) -> Iterator[Part]:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            pf = pq.ParquetFile(path)
        except (OSError, pa.ArrowInvalid) as exc:
            raise FormatError(path, f"unreadable parquet file: {exc}") from exc
        columns = list(pf.schema_arrow.names)
        dataset = detect_dataset(columns)
        if dataset is None:
            raise FormatError(path, f"columns name no known table: {columns}")

        def batches() -> Iterator[pa.RecordBatch]:
            import pyarrow as pa

            start = 1
            try:
                for batch in pf.iter_batches(batch_size=BATCH_ROWS):
                    n = batch.num_rows
                    rows = pa.array(range(start, start + n), type=pa.int64())
                    start += n
                    yield pa.RecordBatch.from_arrays(
                        [*batch.columns, rows], [*batch.schema.names, SOURCE_ROW]
                    )
            except (OSError, pa.ArrowInvalid) as exc:
                raise FormatError(path, f"cannot read past row {start}: {exc}") from exc

        yield Part(
            format=self.name,
            dataset=dataset,
            columns=columns,
            fields=map_headers(columns, dataset),
            batches=batches(),
            metadata={"parquet_rows": pf.metadata.num_rows},
            rows_hint=pf.metadata.num_rows,
        )
