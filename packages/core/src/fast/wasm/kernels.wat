;; Hot loops of sampling-based training, in WebAssembly SIMD (compiled by scripts/wasm-kernels.mjs
;; into kernels.generated.ts; `pnpm --filter @helmholtz/core gen:wasm` after editing).
;;
;; The module works in place on the memory it imports: tfjs-backend-wasm's own heap, so tensors are
;; read and written where they live (no copies), or a memory of its own for the other backends.
;; MEMORY_IMPORT is replaced by the generator: one build for a shared memory (the threaded
;; backend), one for an unshared one.
(module
  MEMORY_IMPORT

  ;; out[k] = (u_k < p[k]) ? 1 : 0 for k < n, float32, with u_k uniform on [0, 1) in steps of
  ;; 2^-24 (exact in float32, so p = 1 always gives 1 and p = 0 never does).
  ;; u_k comes from four xoshiro128+ generators, one per SIMD lane: element k is drawn by lane
  ;; k mod 4, in order. The sixteen state words are parameters: a call does not depend on any
  ;; earlier call, which keeps results reproducible from the caller's seed alone.
  (func (export "bernoulli")
    (param $p i32) (param $out i32) (param $n i32)
    (param $a0 i32) (param $a1 i32) (param $a2 i32) (param $a3 i32)
    (param $b0 i32) (param $b1 i32) (param $b2 i32) (param $b3 i32)
    (param $c0 i32) (param $c1 i32) (param $c2 i32) (param $c3 i32)
    (param $d0 i32) (param $d1 i32) (param $d2 i32) (param $d3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t v128) (local $u v128) (local $end i32) (local $rest i32)
    (local.set $s0 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $a0)) (local.get $a1)) (local.get $a2)) (local.get $a3)))
    (local.set $s1 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $b0)) (local.get $b1)) (local.get $b2)) (local.get $b3)))
    (local.set $s2 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $c0)) (local.get $c1)) (local.get $c2)) (local.get $c3)))
    (local.set $s3 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $d0)) (local.get $d1)) (local.get $d2)) (local.get $d3)))
    (local.set $end (i32.add (local.get $p) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $rest (i32.and (local.get $n) (i32.const 3)))
    (loop $next
      ;; One draw per lane: the output is s0 + s3, then the state advances.
      (local.set $u (f32x4.mul
        (f32x4.convert_i32x4_s (i32x4.shr_u (i32x4.add (local.get $s0) (local.get $s3)) (i32.const 8)))
        (f32x4.splat (f32.const 0x1p-24))))
      (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
      (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
      (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
      (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
      (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
      (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
      (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
      (if (i32.lt_u (local.get $p) (local.get $end))
        (then
          (v128.store (local.get $out)
            (v128.and (f32x4.lt (local.get $u) (v128.load (local.get $p))) (f32x4.splat (f32.const 1))))
          (local.set $p (i32.add (local.get $p) (i32.const 16)))
          (local.set $out (i32.add (local.get $out) (i32.const 16)))
          (br $next))))
    ;; The last n mod 4 elements use the first lanes of one more draw (already in $u).
    (if (i32.gt_u (local.get $rest) (i32.const 0))
      (then
        (f32.store (local.get $out) (select (f32.const 1) (f32.const 0)
          (f32.lt (f32x4.extract_lane 0 (local.get $u)) (f32.load (local.get $p)))))))
    (if (i32.gt_u (local.get $rest) (i32.const 1))
      (then
        (f32.store offset=4 (local.get $out) (select (f32.const 1) (f32.const 0)
          (f32.lt (f32x4.extract_lane 1 (local.get $u)) (f32.load offset=4 (local.get $p)))))))
    (if (i32.gt_u (local.get $rest) (i32.const 2))
      (then
        (f32.store offset=8 (local.get $out) (select (f32.const 1) (f32.const 0)
          (f32.lt (f32x4.extract_lane 2 (local.get $u)) (f32.load offset=8 (local.get $p))))))))

  ;; The same uniforms as `bernoulli` draws, written out: u[k] for k < n (for backends whose
  ;; memory this module cannot reach, which compare on their own device).
  (func (export "uniform")
    (param $out i32) (param $n i32)
    (param $a0 i32) (param $a1 i32) (param $a2 i32) (param $a3 i32)
    (param $b0 i32) (param $b1 i32) (param $b2 i32) (param $b3 i32)
    (param $c0 i32) (param $c1 i32) (param $c2 i32) (param $c3 i32)
    (param $d0 i32) (param $d1 i32) (param $d2 i32) (param $d3 i32)
    (local $s0 v128) (local $s1 v128) (local $s2 v128) (local $s3 v128)
    (local $t v128) (local $u v128) (local $end i32) (local $rest i32)
    (local.set $s0 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $a0)) (local.get $a1)) (local.get $a2)) (local.get $a3)))
    (local.set $s1 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $b0)) (local.get $b1)) (local.get $b2)) (local.get $b3)))
    (local.set $s2 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $c0)) (local.get $c1)) (local.get $c2)) (local.get $c3)))
    (local.set $s3 (i32x4.replace_lane 3 (i32x4.replace_lane 2 (i32x4.replace_lane 1
      (i32x4.splat (local.get $d0)) (local.get $d1)) (local.get $d2)) (local.get $d3)))
    (local.set $end (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (local.set $rest (i32.and (local.get $n) (i32.const 3)))
    (loop $next
      (local.set $u (f32x4.mul
        (f32x4.convert_i32x4_s (i32x4.shr_u (i32x4.add (local.get $s0) (local.get $s3)) (i32.const 8)))
        (f32x4.splat (f32.const 0x1p-24))))
      (local.set $t (i32x4.shl (local.get $s1) (i32.const 9)))
      (local.set $s2 (v128.xor (local.get $s2) (local.get $s0)))
      (local.set $s3 (v128.xor (local.get $s3) (local.get $s1)))
      (local.set $s1 (v128.xor (local.get $s1) (local.get $s2)))
      (local.set $s0 (v128.xor (local.get $s0) (local.get $s3)))
      (local.set $s2 (v128.xor (local.get $s2) (local.get $t)))
      (local.set $s3 (v128.or (i32x4.shl (local.get $s3) (i32.const 11)) (i32x4.shr_u (local.get $s3) (i32.const 21))))
      (if (i32.lt_u (local.get $out) (local.get $end))
        (then
          (v128.store (local.get $out) (local.get $u))
          (local.set $out (i32.add (local.get $out) (i32.const 16)))
          (br $next))))
    (if (i32.gt_u (local.get $rest) (i32.const 0))
      (then (f32.store (local.get $out) (f32x4.extract_lane 0 (local.get $u)))))
    (if (i32.gt_u (local.get $rest) (i32.const 1))
      (then (f32.store offset=4 (local.get $out) (f32x4.extract_lane 1 (local.get $u)))))
    (if (i32.gt_u (local.get $rest) (i32.const 2))
      (then (f32.store offset=8 (local.get $out) (f32x4.extract_lane 2 (local.get $u))))))

  ;; dst = srcᵀ for a row-major [rows, cols] float32 matrix: 4x4 blocks transposed in registers
  ;; (eight shuffles), the edges element by element.
  (func (export "transpose")
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $rows4 i32) (local $cols4 i32)
    (local $x0 v128) (local $x1 v128) (local $x2 v128) (local $x3 v128)
    (local $t0 v128) (local $t1 v128) (local $t2 v128) (local $t3 v128)
    (local $from i32) (local $to i32) (local $rowBytes i32) (local $colBytes i32)
    (local.set $rows4 (i32.and (local.get $rows) (i32.const -4)))
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (local.set $rowBytes (i32.shl (local.get $cols) (i32.const 2)))
    (local.set $colBytes (i32.shl (local.get $rows) (i32.const 2)))
    ;; Whole blocks, and the columns past the last whole block, for rows in steps of four.
    (local.set $i (i32.const 0))
    (block $rowsDone
      (loop $rowBlock
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $rows4)))
        (local.set $j (i32.const 0))
        (block $colsDone
          (loop $colBlock
            (br_if $colsDone (i32.ge_u (local.get $j) (local.get $cols4)))
            (local.set $from (i32.add (local.get $src)
              (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2))))
            (local.set $x0 (v128.load (local.get $from)))
            (local.set $x1 (v128.load (i32.add (local.get $from) (local.get $rowBytes))))
            (local.set $x2 (v128.load (i32.add (local.get $from) (i32.shl (local.get $rowBytes) (i32.const 1)))))
            (local.set $x3 (v128.load (i32.add (local.get $from) (i32.mul (local.get $rowBytes) (i32.const 3)))))
            ;; [x00 x10 x01 x11], [x02 x12 x03 x13], [x20 x30 x21 x31], [x22 x32 x23 x33]
            (local.set $t0 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x0) (local.get $x1)))
            (local.set $t1 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x0) (local.get $x1)))
            (local.set $t2 (i8x16.shuffle 0 1 2 3 16 17 18 19 4 5 6 7 20 21 22 23 (local.get $x2) (local.get $x3)))
            (local.set $t3 (i8x16.shuffle 8 9 10 11 24 25 26 27 12 13 14 15 28 29 30 31 (local.get $x2) (local.get $x3)))
            (local.set $to (i32.add (local.get $dst)
              (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2))))
            (v128.store (local.get $to)
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $to) (local.get $colBytes))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t0) (local.get $t2)))
            (v128.store (i32.add (local.get $to) (i32.shl (local.get $colBytes) (i32.const 1)))
              (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23 (local.get $t1) (local.get $t3)))
            (v128.store (i32.add (local.get $to) (i32.mul (local.get $colBytes) (i32.const 3)))
              (i8x16.shuffle 8 9 10 11 12 13 14 15 24 25 26 27 28 29 30 31 (local.get $t1) (local.get $t3)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $colBlock)))
        ;; Columns past the last whole block, for these four rows.
        (block $edgeDone
          (loop $edge
            (br_if $edgeDone (i32.ge_u (local.get $j) (local.get $cols)))
            (call $column (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
              (local.get $i) (i32.add (local.get $i) (i32.const 4)) (local.get $j))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $edge)))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $rowBlock)))
    ;; Rows past the last whole block: every column.
    (local.set $j (i32.const 0))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $j) (local.get $cols)))
        (call $column (local.get $src) (local.get $dst) (local.get $rows) (local.get $cols)
          (local.get $rows4) (local.get $rows) (local.get $j))
        (local.set $j (i32.add (local.get $j) (i32.const 1)))
        (br $tail))))

  ;; out[i][j] = x[i][j] + bias[i] for a row-major [rows, cols] matrix (a bias per row: the
  ;; column-vector broadcast that tfjs-backend-wasm's Add runs element by element).
  (func (export "addColumnBias")
    (param $x i32) (param $bias i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $b v128) (local $cols4 i32)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $b (v128.load32_splat (i32.add (local.get $bias) (i32.shl (local.get $i) (i32.const 2)))))
        (local.set $j (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_u (local.get $j) (local.get $cols4)))
            (v128.store (local.get $out) (f32x4.add (v128.load (local.get $x)) (local.get $b)))
            (local.set $x (i32.add (local.get $x) (i32.const 16)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $cols)))
            (f32.store (local.get $out) (f32.add (f32.load (local.get $x)) (f32x4.extract_lane 0 (local.get $b))))
            (local.set $x (i32.add (local.get $x) (i32.const 4)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))

  ;; out[k] = w[k] + alpha (p[k] - q[k]) for k < n: a parameter moved along a difference of two
  ;; statistics (the positive and negative phases of a contrastive update), in one pass.
  (func (export "addScaledDifference")
    (param $w i32) (param $p i32) (param $q i32) (param $out i32) (param $n i32) (param $alpha f32)
    (local $a v128) (local $end i32)
    (local.set $a (f32x4.splat (local.get $alpha)))
    (local.set $end (i32.add (local.get $out) (i32.shl (i32.and (local.get $n) (i32.const -4)) (i32.const 2))))
    (block $vecDone
      (loop $vec
        (br_if $vecDone (i32.ge_u (local.get $out) (local.get $end)))
        (v128.store (local.get $out)
          (f32x4.add (v128.load (local.get $w))
            (f32x4.mul (local.get $a) (f32x4.sub (v128.load (local.get $p)) (v128.load (local.get $q))))))
        (local.set $w (i32.add (local.get $w) (i32.const 16)))
        (local.set $p (i32.add (local.get $p) (i32.const 16)))
        (local.set $q (i32.add (local.get $q) (i32.const 16)))
        (local.set $out (i32.add (local.get $out) (i32.const 16)))
        (br $vec)))
    (local.set $end (i32.add (local.get $end) (i32.shl (i32.and (local.get $n) (i32.const 3)) (i32.const 2))))
    (block $tailDone
      (loop $tail
        (br_if $tailDone (i32.ge_u (local.get $out) (local.get $end)))
        (f32.store (local.get $out)
          (f32.add (f32.load (local.get $w))
            (f32.mul (local.get $alpha) (f32.sub (f32.load (local.get $p)) (f32.load (local.get $q))))))
        (local.set $w (i32.add (local.get $w) (i32.const 4)))
        (local.set $p (i32.add (local.get $p) (i32.const 4)))
        (local.set $q (i32.add (local.get $q) (i32.const 4)))
        (local.set $out (i32.add (local.get $out) (i32.const 4)))
        (br $tail))))

  ;; out[i] = sum_j (p[i][j] - q[i][j]) for row-major [rows, cols] matrices: per-row sums of a
  ;; difference (a bias's contrastive statistic when the batch runs along the columns). Four partial
  ;; sums per row, added at the end.
  (func (export "rowSumDifference")
    (param $p i32) (param $q i32) (param $out i32) (param $rows i32) (param $cols i32)
    (local $i i32) (local $j i32) (local $acc v128) (local $sum f32) (local $cols4 i32)
    (local.set $cols4 (i32.and (local.get $cols) (i32.const -4)))
    (block $rowsDone
      (loop $row
        (br_if $rowsDone (i32.ge_u (local.get $i) (local.get $rows)))
        (local.set $acc (v128.const i32x4 0 0 0 0))
        (local.set $j (i32.const 0))
        (block $vecDone
          (loop $vec
            (br_if $vecDone (i32.ge_u (local.get $j) (local.get $cols4)))
            (local.set $acc (f32x4.add (local.get $acc) (f32x4.sub (v128.load (local.get $p)) (v128.load (local.get $q)))))
            (local.set $p (i32.add (local.get $p) (i32.const 16)))
            (local.set $q (i32.add (local.get $q) (i32.const 16)))
            (local.set $j (i32.add (local.get $j) (i32.const 4)))
            (br $vec)))
        (local.set $sum (f32.add
          (f32.add (f32x4.extract_lane 0 (local.get $acc)) (f32x4.extract_lane 1 (local.get $acc)))
          (f32.add (f32x4.extract_lane 2 (local.get $acc)) (f32x4.extract_lane 3 (local.get $acc)))))
        (block $tailDone
          (loop $tail
            (br_if $tailDone (i32.ge_u (local.get $j) (local.get $cols)))
            (local.set $sum (f32.add (local.get $sum) (f32.sub (f32.load (local.get $p)) (f32.load (local.get $q)))))
            (local.set $p (i32.add (local.get $p) (i32.const 4)))
            (local.set $q (i32.add (local.get $q) (i32.const 4)))
            (local.set $j (i32.add (local.get $j) (i32.const 1)))
            (br $tail)))
        (f32.store (i32.add (local.get $out) (i32.shl (local.get $i) (i32.const 2))) (local.get $sum))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $row))))

  ;; dst[j][i] = src[i][j] for i in [from, to), one column j.
  (func $column
    (param $src i32) (param $dst i32) (param $rows i32) (param $cols i32)
    (param $from i32) (param $to i32) (param $j i32)
    (local $i i32)
    (local.set $i (local.get $from))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $to)))
        (f32.store
          (i32.add (local.get $dst) (i32.shl (i32.add (i32.mul (local.get $j) (local.get $rows)) (local.get $i)) (i32.const 2)))
          (f32.load
            (i32.add (local.get $src) (i32.shl (i32.add (i32.mul (local.get $i) (local.get $cols)) (local.get $j)) (i32.const 2)))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))))
