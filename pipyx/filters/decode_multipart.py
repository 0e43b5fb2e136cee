"""decode_multipart: a multipart/* message as one message per part."""
from .._native import DecodeMultipart
from ..builder import PipelineBuilder
from ..errors import ScriptError, caller_location


class DecodeMultipartMixin(PipelineBuilder):
    def decode_multipart(self, *, max_header_size=16384):
        """Outputs each part of a multipart/* message (a form upload, multipart/mixed...) as a message of its own.

        A message whose head's Content-Type is multipart/* with a boundary parameter is split: each part becomes
        MessageStart(PartHead), its body as Data, MessageEnd. A PartHead has `headers` (by lower-case name) and, read
        from them, `name` and `filename` (of Content-Disposition; filename is None for a field that is not a file)
        and `content_type`. A part's body streams in the pieces it came in: only a delimiter's length is held back,
        so parts of any size pass with bounded memory. The message's own end is not output (the parts end
        themselves); the preamble and epilogue are dropped. A part that is itself multipart (multipart/mixed inside a
        form) is split in turn, up to 4 levels deep, its parts output in its place. Any other message passes as it
        is.

        A part header block of over max_header_size bytes, a header line without a colon, or a body that ends before
        its closing boundary ends the stream with ProtocolError (logged with this line); other streams are not
        touched."""
        if not isinstance(max_header_size, int) or max_header_size <= 0:
            raise ScriptError('decode_multipart(): max_header_size is a number of bytes above 0, not %r'
                              % (max_header_size,), *caller_location())
        return self.append(DecodeMultipart(max_header_size))
