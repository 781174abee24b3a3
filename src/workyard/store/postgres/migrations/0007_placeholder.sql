-- Placeholder so 0008 applies in order on this branch; replaced by the real 0007 when merged.
SELECT 1;
