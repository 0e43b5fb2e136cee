"""The filter methods a script chains, one module per filter or small family, named after the filter.

Each module holds a mixin class that extends pipyx.builder.PipelineBuilder with its filter's method;
pipyx.config.Configuration inherits them all.
"""
