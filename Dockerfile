# The project image: Ray 2.60 for Python 3.11 with CUDA 12, ganlib with its gpu and cluster extras,
# and MNIST, so a new node pulls one image instead of installing ~3 GB of CUDA wheels and fetching
# the data. From this checkout (cluster.yaml and k8s/rayjob.yaml say where to name it):
#
#   docker build -t REGISTRY/ganlib:0.1.0 . && docker push REGISTRY/ganlib:0.1.0
FROM rayproject/ray:2.60.0-py311-gpu

# The paths cluster.yaml uses on every node (~/ganlib, ~/data/mnist.npz), so its setup finds both
# done and `ray up`'s file sync of a newer checkout lands where the editable install points.
COPY --chown=ray:users pyproject.toml README.md /home/ray/ganlib/
COPY --chown=ray:users ganlib /home/ray/ganlib/ganlib
COPY --chown=ray:users sweeps /home/ray/ganlib/sweeps
# cluster.yaml's setup install for a GPU node, and its MNIST line (tests/test_cluster.py keeps them the same)
RUN pip install -e "$HOME/ganlib[gpu,cluster]" && pip cache purge
RUN mkdir -p ~/data && (test -f ~/data/mnist.npz || python -c "import keras, shutil, os; keras.datasets.mnist.load_data(); shutil.copy(os.path.expanduser('~/.keras/datasets/mnist.npz'), os.path.expanduser('~/data/mnist.npz'))")

ENV GANLIB_MNIST=/home/ray/data/mnist.npz
WORKDIR /home/ray/ganlib
