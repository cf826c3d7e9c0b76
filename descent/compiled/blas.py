"""General matrix products with a scale and an accumulator, from inside a kernel:
``C ← α·op(A)·op(B) + β·C``, the BLAS ``gemm`` that ``np.dot`` leaves out.

It calls the same entry point Numba's own ``np.dot`` calls (``numba_xxgemm``, which goes
to the ``sgemm``/``dgemm`` SciPy ships), so kernels using it still cache to disk. The
compiled path uses it to fold plain SGD's update into the weight gradient's product:
W ← W − η·(Aᵀ G) in one pass over W, where the gradient would otherwise be written out
and read back by the update.
"""

from descent.compiled.jit import numba

if numba is not None:
    from llvmlite import ir
    from numba.core import cgutils, types
    from numba.extending import intrinsic

    @intrinsic
    def gemm(typingctx, transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c, ldc):
        """Column-major ``gemm`` on the data of the arrays ``a``, ``b``, ``c`` (of one
        float dtype; ``transa``/``transb`` are ``ord('n')`` or ``ord('t')``; ``alpha``
        and ``beta`` numbers of the arrays' dtype)."""
        signature = types.void(transa, transb, m, n, k, alpha, a, lda, b, ldb, beta, c,
                               ldc)

        def codegen(context, builder, sig, args):
            (trans_a, trans_b, rows, cols, inner, scale, arr_a, ld_a, arr_b, ld_b, keep,
             arr_c, ld_c) = args
            char, size = ir.IntType(8), cgutils.intp_t
            pointer = cgutils.voidptr_t
            function = cgutils.get_or_insert_function(
                builder.module,
                ir.FunctionType(ir.IntType(32), [char, char, char, size, size, size,
                                                 pointer, pointer, size, pointer, size,
                                                 pointer, pointer, size]),
                "numba_xxgemm")
            dtype = sig.args[6].dtype
            kind = ir.Constant(char, ord("s" if dtype == types.float32 else "d"))

            def data(value, array_type):
                array = context.make_array(array_type)(context, builder, value)
                return builder.bitcast(array.data, pointer)

            def slot(value):
                return builder.bitcast(cgutils.alloca_once_value(builder, value), pointer)

            def integer(value, value_type):
                return context.cast(builder, value, value_type, types.intp)

            builder.call(function, [
                kind, builder.trunc(integer(trans_a, sig.args[0]), char),
                builder.trunc(integer(trans_b, sig.args[1]), char),
                integer(rows, sig.args[2]), integer(cols, sig.args[3]),
                integer(inner, sig.args[4]), slot(scale), data(arr_a, sig.args[6]),
                integer(ld_a, sig.args[7]), data(arr_b, sig.args[8]),
                integer(ld_b, sig.args[9]), slot(keep), data(arr_c, sig.args[11]),
                integer(ld_c, sig.args[12])])
            return context.get_dummy_value()

        return signature, codegen
else:  # without Numba nothing calls it
    gemm = None
