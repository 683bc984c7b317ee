"""The kernel that runs students' notebooks during grading.

``python -m graders.pipeline.kernel -f CONNECTION_FILE`` is an ordinary IPython
kernel, started after ``sandbox.apply_from_environment()`` has capped its memory and
shut it out of the solutions, the gradebook and other students' files. The grading
pipeline installs a kernelspec named ``python3`` that points here, so nbgrader runs
submissions in it without any change to the notebooks.
"""
from graders.pipeline.sandbox import apply_from_environment


def main() -> None:
    apply_from_environment()
    from ipykernel import kernelapp

    kernelapp.launch_new_instance()


if __name__ == "__main__":
    main()
